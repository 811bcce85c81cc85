import type { Frame } from '../media/frame.js';
import { GopCache } from './gop-cache.js';
import { Timeline } from './timeline.js';
import type { EndReason, Publisher, Subscriber } from './types.js';

export interface StreamInfo {
  videoCodec?: string;
  audioCodec?: string;
  width?: number;
  height?: number;
  frameRate?: number;
  profile?: string;
  sampleRate?: number;
  audioProfile?: string;
  channels?: number;
}

/**
 * One live stream path. Keeps the GOP cache and the subscriber set; a frame is offered to every
 * subscriber by reference: O(1) per subscriber, no copy, no await.
 */
export class Stream {
  publisher: Publisher | undefined;
  readonly subscribers = new Set<Subscriber>();
  readonly gop: GopCache;
  readonly timeline = new Timeline();
  info: StreamInfo = {};
  publishedAt = 0;
  framesIn = 0;
  bytesIn = 0;
  /** set while players wait for a reconnecting publisher */
  reconnectTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly app: string,
    readonly name: string,
    gopCacheMaxBytes: number,
  ) {
    this.gop = new GopCache(gopCacheMaxBytes);
  }

  get path(): string {
    return `${this.app}/${this.name}`;
  }

  get live(): boolean {
    return this.publisher !== undefined;
  }

  /** Frames produced by one publisher read. */
  write(frames: readonly Frame[]): void {
    if (frames.length === 0) return;
    for (const f of frames) {
      this.framesIn++;
      this.bytesIn += f.body.length;
      this.gop.add(f);
    }
    for (const s of this.subscribers) s.write(frames);
  }

  setMetadata(frame: Frame): void {
    this.gop.setMetadata(frame);
    for (const s of this.subscribers) s.write([frame]);
  }

  attach(sub: Subscriber): void {
    this.subscribers.add(sub);
    if (this.live) sub.start(this.gop.initFrames());
  }

  detach(sub: Subscriber): void {
    this.subscribers.delete(sub);
  }

  endAll(reason: EndReason): void {
    const subs = [...this.subscribers];
    this.subscribers.clear();
    for (const s of subs) s.end(reason);
  }
}
