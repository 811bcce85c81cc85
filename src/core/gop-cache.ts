import type { Frame } from '../media/frame.js';

/**
 * What a new subscriber needs to start at once: metadata, the current sequence headers, and every frame since the
 * last video keyframe (audio interleaved). Bounded by bytes: past the cap the GOP is dropped until the next keyframe.
 */
export class GopCache {
  metadata: Frame | undefined;
  videoHeader: Frame | undefined;
  audioHeader: Frame | undefined;
  private gop: Frame[] = [];
  private gopBytes = 0;
  private overflowed = false;
  hasVideo = false;
  hasAudio = false;

  constructor(private readonly maxBytes: number) {}

  add(frame: Frame): void {
    if (frame.type === 18) return; // data frames are forwarded live; onMetaData is set via setMetadata
    if (frame.isVideo) this.hasVideo = true;
    else this.hasAudio = true;
    if (frame.flags.sequenceHeader) {
      // Ingest flags only non-empty configurations (E-RTMP files open with an empty SequenceStart)
      if (frame.isVideo) this.videoHeader = frame;
      else this.audioHeader = frame;
      return;
    }
    if (frame.isVideo && frame.flags.keyframe) {
      this.gop = [];
      this.gopBytes = 0;
      this.overflowed = false;
    } else if (this.overflowed || this.gop.length === 0) {
      return; // no keyframe to start from yet (audio-only streams keep no GOP: players start live)
    }
    this.gop.push(frame);
    this.gopBytes += frame.body.length;
    if (this.gopBytes > this.maxBytes) {
      this.gop = [];
      this.gopBytes = 0;
      this.overflowed = true;
    }
  }

  setMetadata(frame: Frame | undefined): void {
    this.metadata = frame;
  }

  /** Frames a subscriber gets first, in order. */
  initFrames(): Frame[] {
    const out: Frame[] = [];
    if (this.metadata) out.push(this.metadata);
    if (this.videoHeader) out.push(this.videoHeader);
    if (this.audioHeader) out.push(this.audioHeader);
    for (const f of this.gop) out.push(f);
    return out;
  }

  get gopFrameCount(): number {
    return this.gop.length;
  }

  get bytes(): number {
    return this.gopBytes;
  }

  clear(): void {
    this.metadata = undefined;
    this.videoHeader = undefined;
    this.audioHeader = undefined;
    this.gop = [];
    this.gopBytes = 0;
    this.overflowed = false;
    this.hasVideo = false;
    this.hasAudio = false;
  }
}
