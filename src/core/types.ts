import type { Frame } from '../media/frame.js';

export type EndReason = 'unpublished' | 'not-found' | 'server-shutdown' | 'kicked';

/** A reader of a stream: RTMP/HTTP-FLV/WS-FLV player now; recorder, push relay, segmenter later. */
export interface Subscriber {
  readonly id: string;
  readonly protocol: string;
  /** The publisher is live: metadata, sequence headers and the GOP come first, then live frames. */
  start(init: readonly Frame[]): void;
  /** Frames of one publisher read, in order. Must not block; must not copy frame bytes. */
  write(frames: readonly Frame[]): void;
  /** The stream is over for this subscriber (publisher gone for good, never came, or shutdown). */
  end(reason: EndReason): void;
  /** The source changed under the stream (backup ingest switched): timestamps jump forward, codecs may change. */
  discontinuity?(): void;
}

/** The writer of a stream: an RTMP publisher now; a relay pull or transcoder output later. */
export interface Publisher {
  readonly id: string;
  readonly protocol: string;
  readonly remoteAddress: string;
  /** Stop publishing (takeover, kick, shutdown). */
  kick(reason: string): void;
}
