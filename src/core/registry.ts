import type { Counters } from '../observability/counters.js';
import type { Logger } from '../observability/logger.js';
import { Stream } from './stream.js';
import type { Publisher, Subscriber } from './types.js';

export interface RegistryOptions {
  duplicatePublisher: 'reject' | 'takeover';
  playerWaitMs: number;
  reconnectWaitMs: number;
  gopCacheMaxBytes: number;
  audioHoldMs: number;
  /** most streams live at once (limits.maxPublishers); absent = no limit */
  maxPublishers?: number;
}

export type ClaimResult = { ok: true; stream: Stream } | { ok: false; reason: 'busy' | 'max-publishers' };

/** Internal stream names (backup ingest sources) carry `@`, which clients cannot use in a stream name. */
export function isInternalStreamName(name: string): boolean {
  return name.includes('@');
}

/** Subscribers that are viewers (not segmenters, recorders or relays): what limits.maxPlayersPerStream counts. */
const PLAYER_PROTOCOLS = new Set(['rtmp', 'rtmps', 'http-flv', 'ws-flv']);

function hasPlayers(stream: Stream): boolean {
  for (const sub of stream.subscribers) if (PLAYER_PROTOCOLS.has(sub.protocol)) return true;
  return false;
}

/**
 * The path registry: one publisher per path, subscribers that may arrive before it (and wait), and the
 * reconnect window during which players stay attached to a path whose publisher left.
 */
export class StreamRegistry {
  private readonly streams = new Map<string, Stream>();
  private readonly waitTimers = new Map<Subscriber, NodeJS.Timeout>();
  private closing = false;

  constructor(
    private readonly opts: RegistryOptions,
    private readonly log: Logger,
    private readonly counters: Counters,
  ) {}

  get(app: string, name: string): Stream | undefined {
    return this.streams.get(`${app}/${name}`);
  }

  list(): Stream[] {
    return [...this.streams.values()];
  }

  private getOrCreate(app: string, name: string): Stream {
    const path = `${app}/${name}`;
    let s = this.streams.get(path);
    if (!s) {
      s = new Stream(app, name, this.opts.gopCacheMaxBytes, this.opts.audioHoldMs);
      this.streams.set(path, s);
    }
    return s;
  }

  liveCount(): number {
    let n = 0;
    for (const s of this.streams.values()) if (s.live) n++;
    return n;
  }

  /** viewers of app/name (RTMP, HTTP-FLV, WS-FLV players, live or waiting) */
  playerCount(app: string, name: string): number {
    const s = this.streams.get(`${app}/${name}`);
    let n = 0;
    if (s) for (const sub of s.subscribers) if (PLAYER_PROTOCOLS.has(sub.protocol)) n++;
    return n;
  }

  /** Claim the path for a publisher; a live path is refused or taken over per policy. */
  claim(app: string, name: string, pub: Publisher): ClaimResult {
    if (this.closing) return { ok: false, reason: 'busy' };
    const existing = this.streams.get(`${app}/${name}`);
    const max = this.opts.maxPublishers;
    if (max !== undefined && !existing?.live && this.liveCount() >= max) {
      this.counters.inc('publish_rejected', 'max-publishers');
      return { ok: false, reason: 'max-publishers' };
    }
    const stream = this.getOrCreate(app, name);
    if (stream.publisher) {
      if (this.opts.duplicatePublisher === 'reject') {
        this.counters.inc('publish_rejected', 'busy');
        return { ok: false, reason: 'busy' };
      }
      const old = stream.publisher;
      this.log.info({ path: stream.path, old: old.id, new: pub.id }, 'publisher takeover');
      this.release(stream, old, true);
      old.kick('takeover');
    }
    if (stream.reconnectTimer) {
      clearTimeout(stream.reconnectTimer);
      stream.reconnectTimer = undefined;
    }
    // the old session's GOP and headers must not be replayed: its times are behind what players saw
    stream.gop.clear();
    stream.publisher = pub;
    stream.publishedAt = Date.now();
    stream.timeline.newSession();
    this.counters.inc('publish_started');
    for (const sub of stream.subscribers) {
      this.clearWait(sub);
    }
    return { ok: true, stream };
  }

  private readonly announceListeners: Array<(stream: Stream) => void> = [];

  /** Register a listener called each time a stream goes live (HLS/DASH segmenters, later recorders, relays). */
  onAnnounce(cb: (stream: Stream) => void): void {
    this.announceListeners.push(cb);
  }

  /**
   * Listeners for internal streams (names with `@`, e.g. backup ingest sources `cam1@backup`): those get no
   * segmenter, relay or transcoder, only whoever consumes them in-process.
   */
  onAnnounceInternal(cb: (stream: Stream) => void): void {
    this.internalAnnounceListeners.push(cb);
  }

  private readonly internalAnnounceListeners: Array<(stream: Stream) => void> = [];

  private readonly demandListeners: Array<(stream: Stream) => void> = [];
  private readonly idleListeners: Array<(stream: Stream) => void> = [];

  /** Register a listener called when a subscriber attaches to a path that is not live (edge pulls start here). */
  onDemand(cb: (stream: Stream) => void): void {
    this.demandListeners.push(cb);
  }

  /** Register a listener called when the last player of a path leaves (edge pulls stop after a grace period). */
  onIdle(cb: (stream: Stream) => void): void {
    this.idleListeners.push(cb);
  }

  /** Called once the publisher has been told Publish.Start: waiting players start now. */
  announce(stream: Stream): void {
    for (const sub of [...stream.subscribers]) sub.start(stream.gop.initFrames());
    // listeners attach their subscribers after the loop, so none is started twice
    for (const cb of isInternalStreamName(stream.name)
      ? this.internalAnnounceListeners
      : this.announceListeners)
      cb(stream);
  }

  /** The publisher left. Players end now, or after the reconnect window if one is configured. */
  release(stream: Stream, pub: Publisher, takeover = false): void {
    if (stream.publisher !== pub) return;
    stream.flushHeld();
    stream.publisher = undefined;
    if (takeover) return;
    const wait = this.closing ? 0 : this.opts.reconnectWaitMs;
    if (wait > 0 && stream.subscribers.size > 0) {
      stream.reconnectTimer = setTimeout(() => {
        stream.reconnectTimer = undefined;
        if (!stream.publisher) this.finish(stream);
      }, wait);
      stream.reconnectTimer.unref();
      return;
    }
    this.finish(stream);
  }

  private finish(stream: Stream): void {
    stream.endAll('unpublished');
    stream.gop.clear();
    if (!stream.publisher && stream.subscribers.size === 0) this.streams.delete(stream.path);
  }

  /**
   * Attach a subscriber. If the path is not live it waits up to `playerWaitMs`, then gets end('not-found').
   * Returns the stream it is attached to.
   */
  subscribe(app: string, name: string, sub: Subscriber, waitMs = this.opts.playerWaitMs): Stream {
    const stream = this.getOrCreate(app, name);
    stream.attach(sub);
    if (!stream.live) {
      const t = setTimeout(() => {
        this.waitTimers.delete(sub);
        if (stream.live || !stream.subscribers.has(sub)) return;
        this.counters.inc('play_rejected', 'not-found');
        this.unsubscribe(stream, sub);
        sub.end('not-found');
      }, waitMs);
      t.unref();
      this.waitTimers.set(sub, t);
      for (const cb of this.demandListeners) cb(stream);
    }
    return stream;
  }

  unsubscribe(stream: Stream, sub: Subscriber): void {
    this.clearWait(sub);
    stream.detach(sub);
    if (this.idleListeners.length > 0 && PLAYER_PROTOCOLS.has(sub.protocol) && !hasPlayers(stream)) {
      for (const cb of this.idleListeners) cb(stream);
    }
    if (!stream.publisher && stream.subscribers.size === 0 && !stream.reconnectTimer) {
      if (this.streams.get(stream.path) === stream) this.streams.delete(stream.path);
    }
  }

  private clearWait(sub: Subscriber): void {
    const t = this.waitTimers.get(sub);
    if (t) {
      clearTimeout(t);
      this.waitTimers.delete(sub);
    }
  }

  /** Shutdown: notify every player, kick every publisher. */
  close(): void {
    this.closing = true;
    for (const stream of [...this.streams.values()]) {
      if (stream.reconnectTimer) clearTimeout(stream.reconnectTimer);
      for (const sub of stream.subscribers) this.clearWait(sub);
      stream.endAll('server-shutdown');
      stream.publisher?.kick('server-shutdown');
      stream.publisher = undefined;
    }
    this.streams.clear();
  }
}
