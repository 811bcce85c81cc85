import { Ingest, type IngestMessage, type IngestResult } from '../core/ingest.js';
import type { Stream } from '../core/stream.js';
import type { Publisher } from '../core/types.js';
import { backoffDelay, STABLE_CONNECTION_MS } from './backoff.js';
import type { RelayDeps } from './deps.js';
import { openSource, type RelaySource } from './sources.js';
import { hostOf, redactUrl } from './urls.js';
import { hasViewerLease } from './viewer-lease.js';

export type PullState = 'idle' | 'connecting' | 'live' | 'backoff' | 'stopped';
export type PullKind = 'static' | 'edge';
export type PullMode = 'always' | 'on-demand';

export interface PullView {
  id: string;
  app: string;
  name: string;
  kind: PullKind;
  mode: PullMode;
  state: PullState;
  /** the source being tried or pulled from (the last one tried when in backoff) */
  url: string;
  /** source URLs (origins) in failover order */
  urls: number;
  retries: number;
  failures: number;
  /** bytes received from sources, over every connection */
  bytes: number;
  players: number;
  liveSince: string | null;
  lastError: string | null;
  nextRetryInMs: number | null;
}

/** Messages kept while waiting for the first audio/video one (metadata, a few data messages). */
const MAX_PENDING = 256;
const CHECK_MS = 250;

interface Attempt {
  url: string;
  startedAt: number;
  source?: RelaySource;
  timer?: NodeJS.Timeout;
  pending: IngestMessage[];
  lastMediaAt: number;
  liveAt?: number;
  stream?: Stream;
  ingest?: Ingest;
}

/**
 * A pull: a Publisher of a local stream fed from a remote source (RTMP/RTMPS play or HTTP(S)-FLV). It claims the
 * path when the first audio/video message arrives (so an origin without the stream costs players nothing and
 * the next origin is tried), announces it, and feeds each read through an Ingest like an RTMP publisher. When the
 * source ends the path is released (players end, or wait out `streams.reconnectWaitMs`) and, while the stream is
 * wanted (`always`, or it has players), it is pulled again after a backoff, from the first URL again.
 */
export class PullRelay implements Publisher {
  readonly protocol = 'relay-pull';
  remoteAddress = '';
  state: PullState = 'idle';
  retries = 0;
  private failures = 0;
  private urlIndex = 0;
  private bytesDone = 0;
  private attempt: Attempt | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = 0;
  private graceTimer: NodeJS.Timeout | undefined;
  private lastError: string | undefined;
  private lastUrl: string;

  constructor(
    readonly id: string,
    readonly app: string,
    readonly name: string,
    readonly kind: PullKind,
    readonly mode: PullMode,
    private readonly deps: RelayDeps,
    private readonly urls: readonly string[],
    private readonly onStop: (p: PullRelay) => void,
  ) {
    this.lastUrl = urls[0];
  }

  get path(): string {
    return `${this.app}/${this.name}`;
  }

  start(): void {
    if (this.state === 'idle') this.connect();
  }

  /** `always`, or someone watches: a player, or HLS/DASH viewers (their lease, see viewer-lease.ts) */
  private wanted(): boolean {
    const { registry } = this.deps;
    if (this.mode === 'always' || registry.playerCount(this.app, this.name) > 0) return true;
    return hasViewerLease(registry.get(this.app, this.name));
  }

  /** The last player left: stop after the grace period unless one comes back. */
  onIdle(): void {
    if (this.mode === 'always' || this.state === 'stopped' || this.graceTimer) return;
    this.graceTimer = setTimeout(() => {
      this.graceTimer = undefined;
      if (!this.wanted()) this.stop('idle');
    }, this.deps.idleGraceMs);
    this.graceTimer.unref();
  }

  private connect(): void {
    this.retryTimer = undefined;
    if (this.state === 'stopped') return;
    if (!this.wanted()) return this.stop('idle');
    this.state = 'connecting';
    const url = this.urls[this.urlIndex];
    this.lastUrl = url;
    this.remoteAddress = hostOf(url);
    const a: Attempt = { url, startedAt: Date.now(), pending: [], lastMediaAt: 0 };
    this.attempt = a;
    try {
      a.source = openSource(
        url,
        { onMessages: (msgs) => this.onMessages(a, msgs), onEnd: (reason) => this.onEnd(a, reason) },
        { tls: this.deps.tls, connectTimeoutMs: this.deps.connectTimeoutMs },
      );
    } catch {
      // an unusable URL (validated by the config schema, so rare): treated as a failed origin
      queueMicrotask(() => this.onEnd(a, 'bad-url'));
      return;
    }
    a.timer = setInterval(() => this.check(a), CHECK_MS);
    a.timer.unref();
  }

  /**
   * No media soon enough (an origin that does not have the stream), or it stopped coming. Also notices when an
   * on-demand pull is no longer watched without a last player leaving (HLS/DASH viewers' lease expired).
   */
  private check(a: Attempt): void {
    if (this.attempt !== a) return;
    if (this.mode === 'on-demand' && !this.graceTimer && !this.wanted()) this.onIdle();
    const now = Date.now();
    if (a.liveAt === undefined) {
      if (now - a.startedAt > this.deps.firstMediaTimeoutMs) this.onEnd(a, 'no-media', true);
    } else if (now - a.lastMediaAt > this.deps.mediaTimeoutMs) this.onEnd(a, 'media-timeout', true);
  }

  private onMessages(a: Attempt, msgs: IngestMessage[]): void {
    if (this.attempt !== a) return;
    a.lastMediaAt = Date.now();
    let batch = msgs;
    if (!a.stream) {
      for (const m of msgs) a.pending.push(m);
      if (a.pending.length > MAX_PENDING) a.pending.splice(0, a.pending.length - MAX_PENDING);
      if (!msgs.some((m) => (m.type === 8 || m.type === 9) && m.payload.length > 0)) return;
      if (!this.goLive(a)) return;
      batch = a.pending;
      a.pending = [];
    }
    const stream = a.stream as Stream;
    const out: IngestResult = { frames: [] };
    for (const m of batch) a.ingest?.accept(m, out);
    if (out.metadata) stream.setMetadata(out.metadata);
    stream.write(out.frames);
  }

  /** The source has the stream: claim the path and announce it (waiting players start now). */
  private goLive(a: Attempt): boolean {
    if (!this.wanted()) {
      this.onEnd(a, 'idle', true);
      return false;
    }
    // a pull never takes a name from a live local publisher (even with duplicatePublisher: takeover)
    if (this.deps.registry.get(this.app, this.name)?.live) {
      this.onEnd(a, 'busy', true);
      return false;
    }
    const claim = this.deps.registry.claim(this.app, this.name, this);
    if (!claim.ok) {
      this.onEnd(a, claim.reason, true);
      return false;
    }
    a.stream = claim.stream;
    a.ingest = new Ingest(claim.stream);
    a.liveAt = Date.now();
    this.state = 'live';
    this.deps.registry.announce(claim.stream);
    this.deps.log.info(
      { id: this.id, path: this.path, url: redactUrl(a.url), retries: this.retries },
      'pull live',
    );
    return true;
  }

  /** The attempt is over (the source ended, timed out, or was refused); close it and decide what comes next. */
  private onEnd(a: Attempt, reason: string, closeSource = false): void {
    if (this.attempt !== a) return;
    this.finish(a, reason, closeSource);
    if (this.state === 'stopped') return;
    // a local publisher took the path (takeover or first): an on-demand pull is not needed while it is there
    if (this.mode === 'on-demand' && (reason === 'takeover' || reason === 'busy')) return this.stop(reason);
    if (!this.wanted()) return this.stop('idle');
    if (a.liveAt === undefined && this.urlIndex + 1 < this.urls.length) {
      this.urlIndex++; // this origin does not have it (or is down): the next one, now
      return this.connect();
    }
    this.urlIndex = 0;
    if (a.liveAt !== undefined && Date.now() - a.liveAt >= STABLE_CONNECTION_MS) this.failures = 0;
    const delay = backoffDelay(this.failures, this.deps.backoff);
    this.failures++;
    this.retries++;
    this.state = 'backoff';
    this.retryAt = Date.now() + delay;
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.retryTimer.unref();
  }

  private finish(a: Attempt, reason: string, closeSource: boolean): void {
    this.attempt = undefined;
    clearInterval(a.timer);
    if (closeSource) a.source?.close();
    const bytes = a.source?.bytesIn() ?? 0;
    this.bytesDone += bytes;
    this.lastError = reason;
    if (a.stream) this.deps.registry.release(a.stream, this);
    this.deps.counters.inc('relay_pull_closed', reason);
    const quiet = reason === 'idle' || reason === 'server-shutdown' || reason === 'removed';
    this.deps.log[quiet ? 'info' : 'warn'](
      {
        id: this.id,
        path: this.path,
        url: redactUrl(a.url),
        remote: hostOf(a.url),
        bytesIn: bytes,
        durationMs: Date.now() - a.startedAt,
        wasLive: a.liveAt !== undefined,
        reason,
      },
      `closed: ${reason}`,
    );
  }

  // --- Publisher ---

  /** Takeover by a local publisher, an API kick, or shutdown. */
  kick(reason: string): void {
    if (reason === 'server-shutdown') return this.stop(reason);
    const a = this.attempt;
    if (a) this.onEnd(a, reason, true);
  }

  /** Not wanted any more, removed, or shutdown: close for good. */
  stop(reason: string): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearTimeout(this.retryTimer);
    clearTimeout(this.graceTimer);
    this.graceTimer = undefined;
    const a = this.attempt;
    if (a) this.finish(a, reason, true);
    this.onStop(this);
  }

  view(now = Date.now()): PullView {
    return {
      id: this.id,
      app: this.app,
      name: this.name,
      kind: this.kind,
      mode: this.mode,
      state: this.state,
      url: redactUrl(this.attempt?.url ?? this.lastUrl),
      urls: this.urls.length,
      retries: this.retries,
      failures: this.failures,
      bytes: this.bytesDone + (this.attempt?.source?.bytesIn() ?? 0),
      players: this.deps.registry.playerCount(this.app, this.name),
      liveSince: this.attempt?.liveAt ? new Date(this.attempt.liveAt).toISOString() : null,
      lastError: this.lastError ?? null,
      nextRetryInMs: this.state === 'backoff' ? Math.max(0, this.retryAt - now) : null,
    };
  }
}
