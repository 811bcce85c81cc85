import perfHooks from 'node:perf_hooks';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';

/**
 * Prometheus metrics for one server: a registry of its own (several servers share a process in the tests, so
 * nothing goes to prom-client's global default registry), Node's process metrics, gauges computed from a
 * snapshot taken at each scrape, and every `Counters` entry as `tidecast_<name>_total{reason="..."}`.
 */

export interface SessionSample {
  protocol: string;
  role: string;
  bytesIn: number;
  bytesOut: number;
}

export interface StreamSample {
  app: string;
  name: string;
  live: boolean;
  /** players by protocol (the HLS segmenter is not a player) */
  players: Record<string, number>;
  /** bits per second over the last few seconds */
  bitrateIn: number;
  bitrateOut: number;
  droppedFrames: number;
}

/** What one scrape sees; built by the API service from the server's state. */
export interface MetricsSnapshot {
  version: string;
  sessions: SessionSample[];
  /** open connections by listener (`rtmp`, `rtmps`), including ones not yet past the handshake */
  connections: Record<string, number>;
  streams: StreamSample[];
  /** present when HLS is enabled; `segments` when they can be counted without side effects */
  hls?: { streams: number; segments?: number };
  sseClients: number;
}

export interface MetricsSource {
  counters(): Record<string, number>;
  snapshot(): MetricsSnapshot;
}

export interface MetricsOptions {
  /** HLS gauges: none, streams being segmented, or those and the segments in memory */
  hls?: 'off' | 'streams' | 'segments';
}

export const METRICS_PREFIX = 'tidecast_';

/** `[a-zA-Z0-9_]` only, not starting with a digit. */
export function sanitizeMetricName(name: string): string {
  const s = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(s) ? `_${s}` : s;
}

/** `name{reason}` -> { name, reason }; `name` -> { name } */
export function splitCounterKey(key: string): { name: string; reason?: string } {
  const m = /^([^{]+)\{(.*)\}$/s.exec(key);
  return m ? { name: m[1], reason: m[2] } : { name: key };
}

type Perf = {
  monitorEventLoopDelay: typeof perfHooks.monitorEventLoopDelay;
  PerformanceObserver: typeof perfHooks.PerformanceObserver;
};

/**
 * prom-client's default metrics, with a way to stop them. collectDefaultMetrics starts an event-loop delay
 * histogram and a GC PerformanceObserver and returns no handle to either; both are created synchronously through
 * the `perf_hooks` module object, so they are caught here while it runs and disabled by the returned function.
 * (Should a prom-client version look them up differently, nothing is caught and they run until the process ends.)
 */
export function collectProcessMetrics(register: Registry): () => void {
  const perf = perfHooks as unknown as Perf;
  const stops: Array<() => void> = [];
  const monitor = perf.monitorEventLoopDelay;
  const Observer = perf.PerformanceObserver;
  perf.monitorEventLoopDelay = (opts) => {
    const h = monitor(opts);
    stops.push(() => h.disable());
    return h;
  };
  perf.PerformanceObserver = class extends Observer {
    constructor(cb: ConstructorParameters<typeof Observer>[0]) {
      super(cb);
      stops.push(() => this.disconnect());
    }
  };
  const stopAll = () => {
    for (const stop of stops.splice(0)) stop();
  };
  try {
    // the event-loop delay sampler wakes the loop every `eventLoopMonitoringPrecision` ms: 10 (the default) cost
    // ~1.5% of a core in the HLS bench; 100 still catches any lag that matters
    collectDefaultMetrics({ register, eventLoopMonitoringPrecision: 100 });
  } catch (err) {
    stopAll();
    throw err;
  } finally {
    perf.monitorEventLoopDelay = monitor;
    perf.PerformanceObserver = Observer;
  }
  return stopAll;
}

export class Metrics {
  readonly registry = new Registry();
  private stopProcess: (() => void) | undefined;
  private processCollected = false;
  private current: MetricsSnapshot | undefined;
  private readonly counters = new Map<string, Counter<'reason'>>();

  constructor(
    private readonly source: MetricsSource,
    opts: MetricsOptions = {},
  ) {
    const r = [this.registry];
    const now = () => this.current;
    const info: Gauge<'version' | 'node'> = new Gauge({
      name: `${METRICS_PREFIX}info`,
      help: 'Always 1; the labels carry the Tidecast and Node.js versions.',
      labelNames: ['version', 'node'],
      registers: r,
      collect: () => {
        info.reset();
        const s = now();
        if (s) info.set({ version: s.version, node: process.version }, 1);
      },
    });
    const sessions: Gauge<'protocol' | 'role'> = new Gauge({
      name: `${METRICS_PREFIX}sessions`,
      help: 'Open client sessions by protocol and role (connected, publisher, player).',
      labelNames: ['protocol', 'role'],
      registers: r,
      collect: () => {
        sessions.reset();
        for (const s of now()?.sessions ?? []) sessions.inc({ protocol: s.protocol, role: s.role });
      },
    });
    const connections: Gauge<'listener'> = new Gauge({
      name: `${METRICS_PREFIX}connections`,
      help: 'Open connections by listener (including ones still in the handshake).',
      labelNames: ['listener'],
      registers: r,
      collect: () => {
        connections.reset();
        for (const [listener, n] of Object.entries(now()?.connections ?? {}))
          connections.set({ listener }, n);
      },
    });
    const live = new Gauge({
      name: `${METRICS_PREFIX}streams_live`,
      help: 'Streams with a publisher.',
      registers: r,
      collect: () => {
        live.set((now()?.streams ?? []).filter((s) => s.live).length);
      },
    });
    const players: Gauge<'protocol'> = new Gauge({
      name: `${METRICS_PREFIX}players`,
      help: 'Players attached to streams, by protocol (HLS/DASH clients are stateless and not counted).',
      labelNames: ['protocol'],
      registers: r,
      collect: () => {
        players.reset();
        for (const s of now()?.streams ?? []) {
          for (const [protocol, n] of Object.entries(s.players)) players.inc({ protocol }, n);
        }
      },
    });
    const bytes = (dir: 'in' | 'out') => {
      const g: Gauge = new Gauge({
        name: `${METRICS_PREFIX}session_bytes_${dir}`,
        help: `Bytes ${dir === 'in' ? 'received from' : 'sent to'} the sessions open now.`,
        registers: r,
        collect: () => {
          let n = 0;
          for (const s of now()?.sessions ?? []) n += dir === 'in' ? s.bytesIn : s.bytesOut;
          g.set(n);
        },
      });
    };
    bytes('in');
    bytes('out');
    const bitrate = (dir: 'ingest' | 'egress') => {
      const g: Gauge<'app' | 'stream'> = new Gauge({
        name: `${METRICS_PREFIX}stream_${dir}_bits_per_second`,
        help: `${dir === 'ingest' ? 'Ingest' : 'Egress (all players)'} bitrate of each live stream, last seconds.`,
        labelNames: ['app', 'stream'],
        registers: r,
        collect: () => {
          g.reset();
          for (const s of now()?.streams ?? []) {
            if (s.live) g.set({ app: s.app, stream: s.name }, dir === 'ingest' ? s.bitrateIn : s.bitrateOut);
          }
        },
      });
    };
    bitrate('ingest');
    bitrate('egress');
    const dropped: Gauge<'app' | 'stream'> = new Gauge({
      name: `${METRICS_PREFIX}stream_player_dropped_frames`,
      help: 'Frames dropped for the players attached now to each live stream (slow consumers).',
      labelNames: ['app', 'stream'],
      registers: r,
      collect: () => {
        dropped.reset();
        for (const s of now()?.streams ?? []) {
          if (s.live) dropped.set({ app: s.app, stream: s.name }, s.droppedFrames);
        }
      },
    });
    const hls = opts.hls ?? 'off';
    if (hls !== 'off') {
      const hlsStreams = new Gauge({
        name: `${METRICS_PREFIX}hls_streams`,
        help: 'Streams with an HLS/DASH segmenter attached.',
        registers: r,
        collect: () => {
          hlsStreams.set(now()?.hls?.streams ?? 0);
        },
      });
    }
    if (hls === 'segments') {
      const hlsSegments = new Gauge({
        name: `${METRICS_PREFIX}hls_segments`,
        help: 'HLS/DASH segments held in memory, over the streams being segmented.',
        registers: r,
        collect: () => {
          hlsSegments.set(now()?.hls?.segments ?? 0);
        },
      });
    }
    const sse = new Gauge({
      name: `${METRICS_PREFIX}api_event_streams`,
      help: 'Open server-sent event streams (`/api/v1/events`).',
      registers: r,
      collect: () => {
        sse.set(now()?.sseClients ?? 0);
      },
    });
  }

  /** Starts Node's process metrics (event-loop lag, GC, memory, CPU, handles). */
  start(): void {
    if (this.processCollected) return;
    this.processCollected = true;
    this.stopProcess = collectProcessMetrics(this.registry);
  }

  /** Stops the event-loop monitor and the GC observer. */
  close(): void {
    this.stopProcess?.();
    this.stopProcess = undefined;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of everything, computed now. */
  async render(): Promise<string> {
    // the process collectors (an event-loop delay sampler, a GC observer) cost CPU on a busy server: they start
    // at the first scrape, so a server nobody scrapes does not pay for them (the first scrape lacks their history)
    this.start();
    this.current = this.source.snapshot();
    this.syncCounters();
    try {
      return await this.registry.metrics();
    } finally {
      this.current = undefined;
    }
  }

  /** Every Counters entry as `tidecast_<name>_total`, created the first time the name is seen. */
  private syncCounters(): void {
    const grouped = new Map<string, Map<string | undefined, number>>();
    for (const [key, value] of Object.entries(this.source.counters())) {
      const { name, reason } = splitCounterKey(key);
      const metric = `${METRICS_PREFIX}${sanitizeMetricName(name)}_total`;
      const byReason = grouped.get(metric) ?? new Map<string | undefined, number>();
      grouped.set(metric, byReason);
      byReason.set(reason, (byReason.get(reason) ?? 0) + value);
    }
    for (const [metric, byReason] of grouped) {
      let c = this.counters.get(metric);
      if (!c) {
        if (this.registry.getSingleMetric(metric)) continue; // a name taken by another metric
        c = new Counter({
          name: metric,
          help: `Tidecast counter ${metric.slice(METRICS_PREFIX.length, -'_total'.length)}, by reason.`,
          labelNames: ['reason'],
          registers: [this.registry],
        });
        this.counters.set(metric, c);
      }
      c.reset();
      for (const [reason, value] of byReason) {
        if (reason === undefined) c.inc(value);
        else c.inc({ reason }, value);
      }
    }
  }
}
