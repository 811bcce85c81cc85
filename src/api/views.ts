import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { Session } from '../core/sessions.js';
import type { Stream } from '../core/stream.js';
import { redactUrl } from '../relay/urls.js';
import type { Rates } from './rates.js';

/** The package version (package.json sits two levels up from both src/api and dist/api). */
export const VERSION: string = (() => {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
  } catch {
    return '0.0.0';
  }
})();

export const REDACTED = '***';

/** A URL with credentials masked (user:password, query values; with `keyInPath`, the last path segment). */
function redactOptional(url: string | undefined, keyInPath = false): string | undefined {
  return url === undefined ? undefined : redactUrl(url, keyInPath);
}

/** The config with every secret replaced by `***` (their count and presence stay visible). */
export function redactConfig(config: Config): Config {
  const c = structuredClone(config);
  c.access.secrets = c.access.secrets.map(() => REDACTED);
  c.access.keys = c.access.keys.map((k) => ({ ...k, key: REDACTED }));
  if (c.webhooks.secret !== undefined) c.webhooks.secret = REDACTED;
  c.webhooks.url = redactOptional(c.webhooks.url);
  for (const k of Object.keys(c.webhooks.events) as Array<keyof Config['webhooks']['events']>) {
    c.webhooks.events[k] = redactOptional(c.webhooks.events[k]);
  }
  // relay destinations and sources carry stream keys (rtmp://a.rtmp.youtube.com/live2/KEY) and tokens
  c.relays.push = c.relays.push.map((p) => ({ ...p, url: redactUrl(p.url, true) }));
  c.relays.pull = c.relays.pull.map((p) => ({ ...p, urls: p.urls.map((u) => redactUrl(u, true)) }));
  for (const e of Object.values(c.relays.edge)) e.origins = e.origins.map((u) => redactUrl(u));
  for (const app of Object.values(c.apps)) {
    for (const hook of app.transcode?.exec ?? []) {
      hook.args = hook.args.map((a) => (a.includes('://') ? redactUrl(a, true) : a));
    }
  }
  if (c.api.token !== undefined) c.api.token = REDACTED;
  return c;
}

export function countBy<T>(items: Iterable<T>, key: (t: T) => string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of items) {
    const k = key(item);
    if (k !== undefined) out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** Subscribers that are viewers (the HLS segmenter is a subscriber too): as the registry counts players. */
const PLAYER_PROTOCOLS = new Set(['rtmp', 'rtmps', 'http-flv', 'ws-flv']);
export const isPlayerProtocol = (protocol: string): boolean => PLAYER_PROTOCOLS.has(protocol);

export interface StreamView {
  app: string;
  name: string;
  live: boolean;
  publisher: { id: string; protocol: string; ip: string } | null;
  publishedAt: string | null;
  uptimeMs: number;
  video: { codec: string; width?: number; height?: number; frameRate?: number; profile?: string } | null;
  audio: { codec: string; sampleRate?: number; channels?: number; profile?: string } | null;
  bitrateIn: number;
  bitrateOut: number;
  bytesIn: number;
  bytesOut: number;
  framesIn: number;
  players: { total: number; byProtocol: Record<string, number> };
  gop: { frames: number; bytes: number; durationMs: number };
  droppedFrames: number;
  /** backup ingest: the source feeding the stream now */
  source: 'primary' | 'backup' | null;
}

/** Frames player egress queues dropped (slow consumers), over the players attached now. */
export function droppedFrames(stream: Stream): number {
  let n = 0;
  for (const sub of stream.subscribers) {
    const egress = (sub as { egress?: { droppedFrames?: unknown } }).egress;
    if (typeof egress?.droppedFrames === 'number') n += egress.droppedFrames;
  }
  return n;
}

/** Media time from the cached GOP's keyframe to its newest video frame, and the frame rate it shows. */
function gopTiming(stream: Stream): { durationMs: number; fps: number | undefined } {
  if (stream.gop.gopFrameCount === 0) return { durationMs: 0, fps: undefined };
  let first = -1;
  let last = -1;
  let n = 0;
  for (const f of stream.gop.initFrames()) {
    if (!f.isVideo || f.flags.sequenceHeader) continue;
    if (first < 0) first = f.timestamp;
    last = f.timestamp;
    n++;
  }
  const durationMs = first < 0 ? 0 : Math.max(0, last - first);
  const fps = n >= 2 && durationMs > 0 ? Math.round(((n - 1) * 1000 * 100) / durationMs) / 100 : undefined;
  return { durationMs, fps };
}

export function streamView(stream: Stream, rates: Rates, now = Date.now()): StreamView {
  const i = stream.info;
  const pub = stream.publisher;
  const players = [...stream.subscribers].filter((s) => isPlayerProtocol(s.protocol));
  const timing = gopTiming(stream);
  return {
    app: stream.app,
    name: stream.name,
    live: stream.live,
    publisher: pub ? { id: pub.id, protocol: pub.protocol, ip: pub.remoteAddress } : null,
    publishedAt: pub && stream.publishedAt ? new Date(stream.publishedAt).toISOString() : null,
    uptimeMs: pub && stream.publishedAt ? now - stream.publishedAt : 0,
    video: i.videoCodec
      ? {
          codec: i.videoCodec,
          width: i.width,
          height: i.height,
          frameRate: i.frameRate ?? timing.fps,
          profile: i.profile,
        }
      : null,
    audio: i.audioCodec
      ? { codec: i.audioCodec, sampleRate: i.sampleRate, channels: i.channels, profile: i.audioProfile }
      : null,
    bitrateIn: pub ? rates.in : 0,
    bitrateOut: pub ? rates.out : 0,
    bytesIn: stream.bytesIn,
    bytesOut: rates.bytesOut,
    framesIn: stream.framesIn,
    players: { total: players.length, byProtocol: countBy(players, (p) => p.protocol) },
    gop: { frames: stream.gop.gopFrameCount, bytes: stream.gop.bytes, durationMs: timing.durationMs },
    droppedFrames: droppedFrames(stream),
    source: stream.activeSource ?? null,
  };
}

/** Player sessions of a stream, as the rate sampler takes them. */
export function playerBytes(sessions: readonly Session[]): Array<{ id: string; bytesOut: number }> {
  return sessions.filter((s) => s.role === 'player').map((s) => ({ id: s.id, bytesOut: s.bytesOut() }));
}
