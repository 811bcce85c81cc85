import type { Frame } from '../media/frame.js';

/** Where a player's bytes go: a socket, an HTTP response or a WebSocket. */
export interface ByteSink {
  /** Write every buffer as one batch (cork/uncork or writev): one syscall per publisher read. */
  writeBatch(buffers: Buffer[]): void;
  /** true while the transport's own buffer is above its high-water mark */
  readonly congested: boolean;
}

export interface EgressPolicy {
  maxQueueBytes: number;
  maxQueueMs: number;
  /** overflows tolerated within `skipWindowMs` before the player is disconnected */
  maxSkips: number;
  skipWindowMs: number;
}

export interface EgressEvents {
  /** a frame (or a queue of them) was dropped for this reason */
  onDrop(reason: 'queue-bytes' | 'queue-duration' | 'wait-keyframe', frames: number): void;
  /** the player overflowed too often: disconnect it */
  onSlowConsumer(): void;
}

/** ts < 0: never dropped and not counted in the queue's media duration (control bytes, metadata, sequence headers) */
type Entry = { bytes: Buffer; ts: number };

/**
 * The per-player queue and slow-consumer policy, shared by RTMP, HTTP-FLV and WebSocket-FLV players.
 * Frames are enqueued by reference (their encoded bytes are shared by every player of the format);
 * the publisher never waits: when the queue is over its byte or duration bound it is dropped and the
 * player resumes at the next video keyframe; too many such skips and the player is disconnected.
 */
export class Egress {
  private queue: Entry[] = [];
  private queuedBytes = 0;
  private waitKeyframe = false;
  private skipTimes: number[] = [];
  droppedFrames = 0;
  bytesOut = 0;
  closed = false;

  constructor(
    private readonly sink: ByteSink,
    private readonly encode: (f: Frame) => Buffer | undefined,
    private readonly policy: EgressPolicy,
    private readonly events: EgressEvents,
    private readonly streamHasVideo: () => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /** Control bytes (status messages, FLV header): kept in order with media, never dropped. */
  pushRaw(bytes: Buffer): void {
    if (this.closed) return;
    this.queue.push({ bytes, ts: -1 });
    this.queuedBytes += bytes.length;
    this.flush();
  }

  /** Frames from one publisher read (or the init burst); one write for all of them. */
  push(frames: readonly Frame[]): void {
    if (this.closed) return;
    for (const f of frames) this.enqueue(f);
    // limits apply to what waits on a congested transport, not to a burst that goes straight out
    if (this.sink.congested && this.overLimit()) this.overflow();
    this.flush();
  }

  private enqueue(f: Frame): void {
    if (this.waitKeyframe) {
      const resumes = f.isVideo && f.flags.keyframe && !f.flags.sequenceHeader;
      if (resumes) this.waitKeyframe = false;
      else if (!f.flags.sequenceHeader && f.type !== 18) {
        this.droppedFrames++;
        this.events.onDrop('wait-keyframe', 1);
        return;
      }
    }
    const bytes = this.encode(f);
    if (!bytes) return;
    // configuration is kept through overflows: the player needs it whenever it resumes
    const config = f.flags.sequenceHeader || f.type === 18;
    this.queue.push({ bytes, ts: config ? -1 : f.timestamp });
    this.queuedBytes += bytes.length;
  }

  private overLimit(): boolean {
    if (this.queuedBytes > this.policy.maxQueueBytes) return true;
    return this.queueDuration() > this.policy.maxQueueMs;
  }

  private queueDuration(): number {
    let first = -1;
    for (const e of this.queue) {
      if (e.ts >= 0) {
        first = e.ts;
        break;
      }
    }
    if (first < 0) return 0;
    for (let i = this.queue.length - 1; i >= 0; i--) {
      if (this.queue[i].ts >= 0) return this.queue[i].ts - first;
    }
    return 0;
  }

  private overflow(): void {
    const reason = this.queuedBytes > this.policy.maxQueueBytes ? 'queue-bytes' : 'queue-duration';
    const kept = this.queue.filter((e) => e.ts < 0); // control bytes and configuration survive
    const dropped = this.queue.length - kept.length;
    this.queue = kept;
    this.queuedBytes = kept.reduce((n, e) => n + e.bytes.length, 0);
    this.droppedFrames += dropped;
    this.events.onDrop(reason, dropped);
    this.waitKeyframe = this.streamHasVideo();
    const t = this.now();
    this.skipTimes = this.skipTimes.filter((s) => t - s < this.policy.skipWindowMs);
    this.skipTimes.push(t);
    if (this.skipTimes.length > this.policy.maxSkips) {
      this.closed = true;
      this.events.onSlowConsumer();
    }
  }

  /** Skip media until the next video keyframe (after a live pause or receiveVideo(true)). */
  resumeAtKeyframe(): void {
    this.waitKeyframe = this.streamHasVideo();
  }

  /** Write what is queued unless the transport is congested; call again on 'drain'. */
  flush(): void {
    if (this.closed || this.queue.length === 0 || this.sink.congested) return;
    const buffers = new Array<Buffer>(this.queue.length);
    for (let i = 0; i < this.queue.length; i++) buffers[i] = this.queue[i].bytes;
    this.bytesOut += this.queuedBytes;
    this.queue = [];
    this.queuedBytes = 0;
    this.sink.writeBatch(buffers);
  }

  get pendingBytes(): number {
    return this.queuedBytes;
  }
}
