/**
 * A child process holding many players (forked by bench/run.ts). Talks to the parent over IPC:
 * parent -> child: init, connect (a batch), sent (the publisher's video send times), window-start,
 * window-end, stop. child -> parent: batch (the batch has its first frames or failed), stats.
 * Latency is computed here: each received video frame is matched by its payload key to the time the
 * publisher sent a frame with that key.
 */

import { Player, type PlayerTarget } from './player.js';
import { Histogram, nowMs } from './stats.js';

export type ToWorker =
  | { t: 'init'; target: PlayerTarget; batchTimeoutMs: number; loopMs: number; spreadMs: number }
  | { t: 'connect'; count: number }
  | { t: 'sent'; frames: [key: number, at: number][] }
  | { t: 'window-start' }
  | { t: 'window-end' }
  | { t: 'stop' };

export interface WorkerStats {
  players: number;
  /** players still connected that received at least one video frame in the window */
  withMedia: number;
  /** players that ever received a coded video frame */
  everMedia: number;
  ended: Record<string, number>;
  ttff: number[];
  ttfk: number[];
  bytes: number;
  /** socket reads (onread callbacks) in the window */
  reads: number;
  videoFrames: number;
  audioFrames: number;
  /** video frames each player received in the window (0 for players that ended) */
  perPlayerFrames: number[];
  /** video frames in the window whose key matched no publisher send time */
  unmatched: number;
  latency: ReturnType<Histogram['toJSON']>;
  cpuUserMs: number;
  cpuSystemMs: number;
  windowMs: number;
  /** worst event-loop delay seen in the window (ms): how far the client lagged behind its sockets */
  maxLoopLagMs: number;
}

export type FromWorker =
  | { t: 'batch'; ok: number; failed: number }
  | { t: 'stats'; stats: WorkerStats }
  | { t: 'error'; message: string };

let target: PlayerTarget | undefined;
let batchTimeoutMs = 10_000;
/** players of a batch start at uniformly random times within this span (so joins are not phase-locked to GOPs) */
let spreadMs = 0;
/** the publisher's loop period: a send time older than half of it belongs to an earlier loop */
let maxAgeMs = 15_000;
const players: Player[] = [];
const ended = new Map<Player, string>();
const sendTimes = new Map<number, number>();
/** frames received before their send time arrived over IPC: key -> receive times */
const early = new Map<number, number[]>();
let inWindow = false;
let histogram = new Histogram();
let unmatched = 0;
let windowAt = 0;
let cpuAt = process.cpuUsage();
let maxLag = 0;
let lastTick = 0;
let lagTimer: NodeJS.Timeout | undefined;

function post(m: FromWorker): void {
  process.send?.(m);
}

function record(key: number, at: number): void {
  const sent = sendTimes.get(key);
  if (sent !== undefined && at >= sent && at - sent < maxAgeMs) {
    histogram.add(at - sent);
    return;
  }
  const list = early.get(key);
  if (list) list.push(at);
  else early.set(key, [at]);
}

const events = {
  onVideo(_p: Player, key: number, _keyframe: boolean, at: number) {
    if (inWindow) record(key, at);
  },
  onEnd(p: Player, reason: string) {
    ended.set(p, reason);
  },
};

function connectBatch(count: number): void {
  if (!target) throw new Error('connect before init');
  const batch: Player[] = [];
  for (let i = 0; i < count; i++) {
    const p = new Player(target, events);
    players.push(p);
    batch.push(p);
    setTimeout(() => p.start(), Math.random() * spreadMs);
  }
  const started = nowMs();
  const timer = setInterval(() => {
    const failed = batch.filter((p) => ended.has(p)).length;
    const ok = batch.filter((p) => p.firstFrameAt > 0 && !ended.has(p)).length;
    if (ok + failed === batch.length || nowMs() - started > batchTimeoutMs) {
      clearInterval(timer);
      post({ t: 'batch', ok, failed });
    }
  }, 20);
}

function onSent(frames: [number, number][]): void {
  for (const [key, at] of frames) {
    sendTimes.set(key, at); // a looped file sends the same frame again: the newest send wins
    const list = early.get(key);
    if (list) {
      early.delete(key);
      for (const t of list) {
        if (t >= at && t - at < maxAgeMs) histogram.add(t - at);
        else unmatched++;
      }
    }
  }
}

function windowStart(): void {
  for (const p of players) {
    p.bytes = 0;
    p.reads = 0;
    p.videoFrames = 0;
    p.audioFrames = 0;
  }
  histogram = new Histogram();
  early.clear();
  unmatched = 0;
  inWindow = true;
  windowAt = nowMs();
  cpuAt = process.cpuUsage();
  maxLag = 0;
  lastTick = nowMs();
  lagTimer = setInterval(() => {
    const t = nowMs();
    maxLag = Math.max(maxLag, t - lastTick - 10);
    lastTick = t;
  }, 10);
}

/** Stops recording, then lets the last send times arrive over IPC before reporting. */
function windowEnd(): void {
  inWindow = false;
  clearInterval(lagTimer);
  const cpu = process.cpuUsage(cpuAt);
  const stats = collect(cpu, nowMs() - windowAt);
  setTimeout(() => {
    for (const list of early.values()) unmatched += list.length;
    stats.unmatched = unmatched;
    stats.latency = histogram.toJSON();
    post({ t: 'stats', stats });
  }, 300);
}

function collect(cpu: NodeJS.CpuUsage, windowMs: number): WorkerStats {
  const reasons: Record<string, number> = {};
  for (const r of ended.values()) reasons[r] = (reasons[r] ?? 0) + 1;
  const s: WorkerStats = {
    players: players.length,
    withMedia: players.filter((p) => p.videoFrames > 0 && !ended.has(p)).length,
    everMedia: players.filter((p) => p.firstFrameAt > 0).length,
    ended: reasons,
    ttff: players.filter((p) => p.firstFrameAt > 0).map((p) => p.firstFrameAt - p.playAt),
    ttfk: players.filter((p) => p.firstKeyframeAt > 0).map((p) => p.firstKeyframeAt - p.playAt),
    bytes: 0,
    reads: 0,
    videoFrames: 0,
    audioFrames: 0,
    perPlayerFrames: players.map((p) => (ended.has(p) ? 0 : p.videoFrames)),
    unmatched,
    latency: histogram.toJSON(),
    cpuUserMs: cpu.user / 1000,
    cpuSystemMs: cpu.system / 1000,
    windowMs,
    maxLoopLagMs: maxLag,
  };
  for (const p of players) {
    s.bytes += p.bytes;
    s.reads += p.reads;
    s.videoFrames += p.videoFrames;
    s.audioFrames += p.audioFrames;
  }
  return s;
}

process.on('message', (m: ToWorker) => {
  try {
    if (m.t === 'init') {
      target = m.target;
      batchTimeoutMs = m.batchTimeoutMs;
      maxAgeMs = m.loopMs / 2;
      spreadMs = m.spreadMs;
    } else if (m.t === 'connect') connectBatch(m.count);
    else if (m.t === 'sent') onSent(m.frames);
    else if (m.t === 'window-start') windowStart();
    else if (m.t === 'window-end') windowEnd();
    else if (m.t === 'stop') {
      for (const p of players) p.close();
      process.disconnect?.();
      setTimeout(() => process.exit(0), 200).unref();
    }
  } catch (e) {
    post({ t: 'error', message: (e as Error).stack ?? String(e) });
  }
});
process.on('disconnect', () => process.exit(0));
