import perfHooks from 'node:perf_hooks';
import { Registry } from 'prom-client';
import { describe, expect, it, vi } from 'vitest';
import {
  collectProcessMetrics,
  Metrics,
  type MetricsSnapshot,
  sanitizeMetricName,
  splitCounterKey,
} from './metrics.js';

const snapshot = (over: Partial<MetricsSnapshot> = {}): MetricsSnapshot => ({
  version: '1.2.3',
  sessions: [
    { protocol: 'rtmp', role: 'publisher', bytesIn: 1000, bytesOut: 10 },
    { protocol: 'rtmp', role: 'player', bytesIn: 5, bytesOut: 700 },
    { protocol: 'http-flv', role: 'player', bytesIn: 0, bytesOut: 300 },
  ],
  connections: { rtmp: 2 },
  streams: [
    {
      app: 'live',
      name: 'a',
      live: true,
      players: { rtmp: 1, 'http-flv': 1 },
      bitrateIn: 2_000_000,
      bitrateOut: 4_000_000,
      droppedFrames: 3,
    },
    {
      app: 'live',
      name: 'waiting',
      live: false,
      players: { rtmp: 2 },
      bitrateIn: 0,
      bitrateOut: 0,
      droppedFrames: 0,
    },
  ],
  hls: { streams: 1, segments: 7 },
  sseClients: 2,
  ...over,
});

/** `name{labels} value` lines of the exposition, comments left out */
const samples = (text: string) => text.split('\n').filter((l) => l && !l.startsWith('#'));

describe('metric names', () => {
  it('sanitizes to [a-zA-Z0-9_] and never starts with a digit', () => {
    expect(sanitizeMetricName('http-flv_closed')).toBe('http_flv_closed');
    expect(sanitizeMetricName('a.b:c d')).toBe('a_b_c_d');
    expect(sanitizeMetricName('9lives')).toBe('_9lives');
  });

  it('splits counter keys into name and reason', () => {
    expect(splitCounterKey('frames_dropped{rtmp:queue-bytes}')).toEqual({
      name: 'frames_dropped',
      reason: 'rtmp:queue-bytes',
    });
    expect(splitCounterKey('publish_started')).toEqual({ name: 'publish_started' });
  });
});

describe('Metrics', () => {
  it('computes gauges at scrape time from the snapshot', async () => {
    let snap = snapshot();
    const m = new Metrics({ counters: () => ({}), snapshot: () => snap }, { hls: 'segments' });
    const text = await m.render();
    const lines = samples(text);
    expect(lines).toContain(`tidecast_info{version="1.2.3",node="${process.version}"} 1`);
    expect(lines).toContain('tidecast_sessions{protocol="rtmp",role="publisher"} 1');
    expect(lines).toContain('tidecast_sessions{protocol="rtmp",role="player"} 1');
    expect(lines).toContain('tidecast_sessions{protocol="http-flv",role="player"} 1');
    expect(lines).toContain('tidecast_connections{listener="rtmp"} 2');
    expect(lines).toContain('tidecast_streams_live 1');
    expect(lines).toContain('tidecast_players{protocol="rtmp"} 3');
    expect(lines).toContain('tidecast_players{protocol="http-flv"} 1');
    expect(lines).toContain('tidecast_session_bytes_in 1005');
    expect(lines).toContain('tidecast_session_bytes_out 1010');
    expect(lines).toContain('tidecast_stream_ingest_bits_per_second{app="live",stream="a"} 2000000');
    expect(lines).toContain('tidecast_stream_egress_bits_per_second{app="live",stream="a"} 4000000');
    expect(lines).toContain('tidecast_stream_player_dropped_frames{app="live",stream="a"} 3');
    expect(lines).toContain('tidecast_hls_streams 1');
    expect(lines).toContain('tidecast_hls_segments 7');
    expect(lines).toContain('tidecast_api_event_streams 2');
    expect(text).toContain('# TYPE tidecast_players gauge');
    // a session that went away is gone from the next scrape, not left at its last value
    snap = snapshot({ sessions: [], streams: [] });
    const after = samples(await m.render());
    expect(after.some((l) => l.startsWith('tidecast_sessions{'))).toBe(false);
    expect(after.some((l) => l.startsWith('tidecast_players{'))).toBe(false);
    expect(after).toContain('tidecast_streams_live 0');
  });

  it('exports every counter as tidecast_<name>_total, with reasons, including ones that appear later', async () => {
    const counters: Record<string, number> = {
      publish_started: 3,
      'frames_dropped{rtmp:queue-bytes}': 10,
      'frames_dropped{http-flv:wait-keyframe}': 2,
      'http-flv_closed{peer-closed}': 1,
    };
    const m = new Metrics({ counters: () => counters, snapshot: () => snapshot() });
    let lines = samples(await m.render());
    expect(lines).toContain('tidecast_publish_started_total 3');
    expect(lines).toContain('tidecast_frames_dropped_total{reason="rtmp:queue-bytes"} 10');
    expect(lines).toContain('tidecast_frames_dropped_total{reason="http-flv:wait-keyframe"} 2');
    expect(lines).toContain('tidecast_http_flv_closed_total{reason="peer-closed"} 1');
    counters.publish_started = 4;
    counters['play_rejected{bad-name}'] = 1;
    lines = samples(await m.render());
    expect(lines).toContain('tidecast_publish_started_total 4');
    expect(lines).toContain('tidecast_play_rejected_total{reason="bad-name"} 1');
    const text = await m.render();
    expect(text).toContain('# TYPE tidecast_play_rejected_total counter');
    // no HLS gauges unless asked for
    expect(text).not.toContain('tidecast_hls_');
  });

  it('label values are escaped', async () => {
    const m = new Metrics({ counters: () => ({ 'x{a"b\\c\nd}': 1 }), snapshot: () => snapshot() });
    expect(samples(await m.render())).toContain('tidecast_x_total{reason="a\\"b\\\\c\\nd"} 1');
  });

  it('two servers in one process each have their own registry with process metrics', async () => {
    const a = new Metrics({ counters: () => ({}), snapshot: () => snapshot() });
    const b = new Metrics({ counters: () => ({}), snapshot: () => snapshot() });
    a.start();
    b.start();
    try {
      for (const m of [a, b]) {
        const text = await m.render();
        expect(text).toContain('# TYPE process_cpu_seconds_total counter');
        expect(text).toContain('# TYPE nodejs_eventloop_lag_seconds gauge');
        expect(text).toContain('# TYPE nodejs_gc_duration_seconds histogram');
      }
      expect(a.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    } finally {
      a.close();
      b.close();
    }
  });
});

describe('collectProcessMetrics', () => {
  it('catches the event-loop monitor and the GC observer, and its stop function ends them', async () => {
    const real = perfHooks.monitorEventLoopDelay;
    const disabled = vi.fn();
    // a monitor whose disable() is seen (collectProcessMetrics wraps whatever perf_hooks has)
    perfHooks.monitorEventLoopDelay = (opts) => {
      const h = real(opts);
      const disable = h.disable.bind(h);
      h.disable = () => {
        disabled();
        return disable();
      };
      return h;
    };
    const disconnect = vi.spyOn(perfHooks.PerformanceObserver.prototype, 'disconnect');
    try {
      const monitor = perfHooks.monitorEventLoopDelay;
      const Observer = perfHooks.PerformanceObserver;
      const r = new Registry();
      const stop = collectProcessMetrics(r);
      // perf_hooks is left as it was
      expect(perfHooks.monitorEventLoopDelay).toBe(monitor);
      expect(perfHooks.PerformanceObserver).toBe(Observer);
      expect(await r.getSingleMetricAsString('nodejs_gc_duration_seconds')).toContain('histogram');
      expect(disabled).not.toHaveBeenCalled();
      stop();
      expect(disabled).toHaveBeenCalledTimes(1);
      expect(disconnect).toHaveBeenCalledTimes(1);
      stop(); // once only
      expect(disabled).toHaveBeenCalledTimes(1);
    } finally {
      perfHooks.monitorEventLoopDelay = real;
      disconnect.mockRestore();
    }
  });

  it('restores perf_hooks even when collecting throws (a second collection into one registry)', () => {
    const monitor = perfHooks.monitorEventLoopDelay;
    const r = new Registry();
    const stop = collectProcessMetrics(r);
    expect(() => collectProcessMetrics(r)).toThrow(/already been registered/);
    expect(perfHooks.monitorEventLoopDelay).toBe(monitor);
    stop();
  });
});
