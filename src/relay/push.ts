import { Egress } from '../core/egress.js';
import type { Stream } from '../core/stream.js';
import type { EndReason, Subscriber } from '../core/types.js';
import { errorCode } from '../errors.js';
import type { Frame, FrameType } from '../media/frame.js';
import { encodeMessage } from '../protocols/rtmp/chunk-encoder.js';
import { parseRtmpUrl, RtmpClient } from '../servers/rtmp/rtmp-client.js';
import { WritableSink } from '../servers/socket-sink.js';
import { backoffDelay, STABLE_CONNECTION_MS } from './backoff.js';
import type { RelayDeps } from './deps.js';
import { hostOf, redactUrl } from './urls.js';

/** Chunk size a push announces and sends with (as ffmpeg does when publishing). */
export const PUSH_CHUNK_SIZE = 4096;
/** Chunk stream ids for pushed media; the client session uses 2 (control), 3 and 8 (commands). */
const CSID: Record<FrameType, number> = { 18: 5, 8: 6, 9: 7 };
const ON_METADATA = Buffer.from([0x02, 0x00, 0x0a, ...Buffer.from('onMetaData')]);
const SET_DATA_FRAME = Buffer.from([0x02, 0x00, 0x0d, ...Buffer.from('@setDataFrame')]);

/**
 * A frame as a publisher sends it on message stream `sid`: stateless fmt-0 chunks, so the bytes are made once and
 * shared by every push with that stream id. onMetaData goes out as `@setDataFrame` (what ingest servers and CDNs
 * expect from a publisher).
 */
function encodeForPush(f: Frame, sid: number): Buffer {
  return f.cached(`relay-push:${sid}`, (fr) =>
    encodeMessage(
      {
        csid: CSID[fr.type],
        type: fr.type,
        streamId: sid,
        timestamp: fr.timestamp % 2 ** 32,
        payload:
          fr.type === 18 && fr.body.subarray(0, ON_METADATA.length).equals(ON_METADATA)
            ? Buffer.concat([SET_DATA_FRAME, fr.body])
            : fr.body,
      },
      PUSH_CHUNK_SIZE,
    ),
  );
}

export type PushState = 'idle' | 'connecting' | 'publishing' | 'backoff' | 'stopped';

export interface PushSessionView {
  id: string;
  app: string;
  name: string;
  url: string;
  state: PushState;
  /** reconnects scheduled since it started */
  retries: number;
  /** failures in a row (reset by a connection that stays up) */
  failures: number;
  /** bytes sent to the destination, over every connection */
  bytes: number;
  droppedFrames: number;
  publishingSince: string | null;
  lastError: string | null;
  nextRetryInMs: number | null;
}

interface Conn {
  client: RtmpClient;
  url: string;
  startedAt: number;
  publishingAt?: number;
  egress?: Egress;
  timer?: NodeJS.Timeout;
  error?: string;
}

/**
 * A push (restream) of one live stream to one destination: a Subscriber of the stream for as long as it is live,
 * which keeps an RTMP publish to the destination. Frames go through an Egress (bounded queue, drop to the next
 * keyframe, reconnect after repeated overflows); each (re)connection starts with metadata, sequence headers and
 * the GOP from the stream's cache. A dropped destination is retried with exponential backoff and jitter, moving
 * to the next URL when there are several (edge publish forwarding over the origins).
 */
export class PushRelay implements Subscriber {
  readonly protocol = 'relay-push';
  state: PushState = 'idle';
  retries = 0;
  private failures = 0;
  private urlIndex = 0;
  private bytesDone = 0;
  private dropped = 0;
  private conn: Conn | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private retryAt = 0;
  private lastError: string | undefined;

  constructor(
    readonly id: string,
    readonly ruleId: string,
    private readonly deps: RelayDeps,
    readonly stream: Stream,
    private readonly urls: readonly string[],
    /** the URL's last segment is a secret stream key: hidden in the API and logs */
    private readonly keyInPath: boolean,
    private readonly onStop: (p: PushRelay) => void,
  ) {}

  /** Attach to the (live) stream; start() connects. */
  begin(): void {
    this.deps.registry.subscribe(this.stream.app, this.stream.name, this);
  }

  // --- Subscriber ---

  start(init: readonly Frame[]): void {
    if (this.state === 'idle') return this.connect();
    // the publisher came back within the reconnect window: its headers and GOP first
    if (this.state === 'publishing') this.conn?.egress?.push(init);
  }

  write(frames: readonly Frame[]): void {
    this.conn?.egress?.push(frames);
  }

  end(reason: EndReason): void {
    this.stop(reason);
  }

  // --- connection ---

  private get currentUrl(): string {
    return this.urls[this.urlIndex % this.urls.length];
  }

  private connect(): void {
    if (this.state === 'stopped') return;
    this.retryTimer = undefined;
    this.state = 'connecting';
    const url = this.currentUrl;
    let client: RtmpClient;
    try {
      client = new RtmpClient(
        parseRtmpUrl(url),
        { onClose: () => this.fail(conn, conn.error ?? 'peer-closed') },
        { outChunkSize: PUSH_CHUNK_SIZE, tls: this.deps.tls },
      );
    } catch {
      this.lastError = 'bad-url';
      this.stop('bad-url');
      return;
    }
    const conn: Conn = { client, url, startedAt: Date.now() };
    this.conn = conn;
    client.rawSocket.on('error', (err) => {
      conn.error = `socket-error:${errorCode(err)}`;
    });
    conn.timer = setTimeout(() => this.fail(conn, 'connect-timeout'), this.deps.connectTimeoutMs);
    conn.timer.unref();
    void (async () => {
      try {
        await client.connectApp();
        const code = await client.publish();
        if (code !== 'NetStream.Publish.Start') return this.fail(conn, code);
        this.onPublishing(conn);
      } catch (err) {
        this.fail(conn, conn.error ?? (err instanceof Error ? err.message : 'connect-failed'));
      }
    })();
  }

  private onPublishing(conn: Conn): void {
    if (this.conn !== conn || this.state === 'stopped') return;
    clearTimeout(conn.timer);
    this.state = 'publishing';
    conn.publishingAt = Date.now();
    const sid = conn.client.session.streamId;
    const sink = new WritableSink(conn.client.rawSocket, () => conn.egress?.flush());
    conn.egress = new Egress(
      sink,
      (f) => encodeForPush(f, sid),
      this.deps.policy,
      {
        onDrop: (reason, n) => {
          this.dropped += n;
          this.deps.counters.inc('frames_dropped', `relay-push:${reason}`, n);
        },
        onSlowConsumer: () => this.fail(conn, 'slow-consumer'),
      },
      () => this.stream.gop.hasVideo,
    );
    this.deps.log.info(
      {
        id: this.id,
        path: this.stream.path,
        url: redactUrl(conn.url, this.keyInPath),
        retries: this.retries,
      },
      'push publishing',
    );
    // frames held for the next video frame are in the cache: deliver them first so none comes twice
    this.stream.flushHeld();
    conn.egress.push(this.stream.gop.initFrames());
  }

  /** This connection ended (error, refusal, timeout, overflow): close it and retry after a backoff. */
  private fail(conn: Conn, reason: string): void {
    if (this.conn !== conn || this.state === 'stopped') return;
    this.conn = undefined;
    this.lastError = reason;
    this.closeConn(conn, reason, false);
    const lived = conn.publishingAt ? Date.now() - conn.publishingAt : 0;
    if (lived >= STABLE_CONNECTION_MS) this.failures = 0;
    const delay = backoffDelay(this.failures, this.deps.backoff);
    this.failures++;
    this.retries++;
    this.urlIndex++;
    this.state = 'backoff';
    this.retryAt = Date.now() + delay;
    this.retryTimer = setTimeout(() => this.connect(), delay);
    this.retryTimer.unref();
  }

  private closeConn(conn: Conn, reason: string, graceful: boolean): void {
    clearTimeout(conn.timer);
    if (conn.egress) conn.egress.closed = true;
    const socket = conn.client.rawSocket;
    this.bytesDone += socket.bytesWritten;
    if (graceful && !socket.destroyed) {
      // the last frames still in the socket's buffer go out; a peer that never reads is cut after 2 s
      socket.end();
      setTimeout(() => socket.destroy(), 2_000).unref();
    } else conn.client.close();
    this.deps.counters.inc('relay_push_closed', reason);
    const level = reason === 'unpublished' || reason === 'removed' ? 'info' : 'warn';
    this.deps.log[level](
      {
        id: this.id,
        path: this.stream.path,
        url: redactUrl(conn.url, this.keyInPath),
        remote: hostOf(conn.url),
        bytesOut: socket.bytesWritten,
        durationMs: Date.now() - conn.startedAt,
        reason,
      },
      `closed: ${reason}`,
    );
  }

  /** The stream ended, the push was removed, or shutdown: close for good. */
  stop(reason: string): void {
    if (this.state === 'stopped') return;
    this.state = 'stopped';
    clearTimeout(this.retryTimer);
    const conn = this.conn;
    this.conn = undefined;
    if (conn) this.closeConn(conn, reason, true);
    if (this.stream.subscribers.has(this)) this.deps.registry.unsubscribe(this.stream, this);
    this.onStop(this);
  }

  view(now = Date.now()): PushSessionView {
    const conn = this.conn;
    return {
      id: this.id,
      app: this.stream.app,
      name: this.stream.name,
      url: redactUrl(conn?.url ?? this.currentUrl, this.keyInPath),
      state: this.state,
      retries: this.retries,
      failures: this.failures,
      bytes: this.bytesDone + (conn ? conn.client.rawSocket.bytesWritten : 0),
      droppedFrames: this.dropped,
      publishingSince: conn?.publishingAt ? new Date(conn.publishingAt).toISOString() : null,
      lastError: this.lastError ?? null,
      nextRetryInMs: this.state === 'backoff' ? Math.max(0, this.retryAt - now) : null,
    };
  }
}
