import { type ByteSink, Egress, type EgressPolicy } from '../../core/egress.js';
import type { Stream } from '../../core/stream.js';
import type { EndReason, Subscriber } from '../../core/types.js';
import { decodeAmf0 } from '../../formats/amf/amf0.js';
import { flvHeader } from '../../formats/flv/flv-writer.js';
import type { Frame } from '../../media/frame.js';
import type { Counters } from '../../observability/counters.js';

export interface FlvPlayerOptions {
  id: string;
  protocol: 'http-flv' | 'ws-flv';
  stream: () => Stream | undefined;
  sink: ByteSink;
  policy: EgressPolicy;
  counters: Counters;
  /** shared per-frame bytes for this transport (FLV tag, or FLV tag in a WebSocket frame) */
  encodeFrame: (f: Frame) => Buffer;
  /** shared bytes for the 13-byte FLV file header */
  encodeHeader: (header: Buffer) => Buffer;
  /** first bytes are about to go out: send HTTP status/headers now */
  onStart: () => void;
  onEnd: (reason: EndReason | 'slow-consumer') => void;
}

/**
 * An HTTP-FLV or WebSocket-FLV viewer: FLV header with the real A/V flags (mpegts.js waits for every flagged
 * track, protocol brief §0 rule 15), then onMetaData, sequence headers, the GOP from its keyframe, then live tags.
 * Enhanced (FourCC) tags pass through: FLV readers that know E-FLV (mpegts.js) read them.
 */
export class FlvPlayer implements Subscriber {
  readonly egress: Egress;
  private headerSent = false;
  private started = false;

  constructor(private readonly o: FlvPlayerOptions) {
    this.egress = new Egress(
      o.sink,
      (f) => o.encodeFrame(f),
      o.policy,
      {
        onDrop: (reason, n) => o.counters.inc('frames_dropped', `${o.protocol}:${reason}`, n),
        onSlowConsumer: () => o.onEnd('slow-consumer'),
      },
      () => o.stream()?.gop.hasVideo ?? true,
    );
  }

  get id(): string {
    return this.o.id;
  }

  get protocol(): string {
    return this.o.protocol;
  }

  start(init: readonly Frame[]): void {
    if (!this.started) {
      this.started = true;
      this.o.onStart();
    } else {
      this.egress.resumeAtKeyframe(); // a returning publisher: continue from its first keyframe
    }
    this.write(init);
  }

  write(frames: readonly Frame[]): void {
    if (!this.headerSent) {
      if (frames.length === 0) return;
      this.headerSent = true;
      this.egress.pushRaw(this.o.encodeHeader(flvHeader(this.tracks(frames))));
    }
    this.egress.push(frames);
  }

  /** Tracks from onMetaData when present, else from what the stream has shown so far. */
  private tracks(frames: readonly Frame[]): { audio: boolean; video: boolean } {
    const stream = this.o.stream();
    let audio = stream?.gop.hasAudio ?? false;
    let video = stream?.gop.hasVideo ?? false;
    const meta = stream?.gop.metadata ?? frames.find((f) => f.type === 18);
    if (meta) {
      try {
        const obj = decodeAmf0(meta.body)[1] as Record<string, unknown> | undefined;
        if (obj && typeof obj === 'object') {
          if ('audiocodecid' in obj || obj.hasAudio === true) audio = true;
          if ('videocodecid' in obj || obj.hasVideo === true) video = true;
        }
      } catch {
        // fall back to what was seen
      }
    }
    for (const f of frames) {
      if (f.isAudio) audio = true;
      if (f.isVideo) video = true;
    }
    return { audio, video };
  }

  end(reason: EndReason): void {
    this.o.onEnd(reason);
  }
}
