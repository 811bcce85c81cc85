import { fragment } from '../formats/fmp4/fragment.js';
import { initSegment } from '../formats/fmp4/init-segment.js';
import { TsMuxer } from '../formats/mpegts/ts-muxer.js';
import type { Frame } from '../media/frame.js';
import type { Sample, Track } from '../media/sample.js';
import type { DashSegment, SegmentStore } from './store.js';
import { TrackBuilder } from './track-builder.js';

export type SegmentFormat = 'mpegts' | 'fmp4';

export interface SegmenterOptions {
  format: SegmentFormat;
  /** seconds; segments are cut at the first video keyframe at or after this */
  targetDuration: number;
  /** seconds; LL-HLS parts (fMP4 only); undefined = no parts */
  partTarget?: number;
  /** wall clock for EXT-X-PROGRAM-DATE-TIME */
  now: () => number;
  /** also build per-track CMAF segments for MPEG-DASH (fMP4 only) */
  dash?: boolean;
}

interface Pending {
  video: Sample[];
  audio: Sample[];
}

/**
 * Cuts a stream's frames into segments (at video keyframes, after the target duration) and, for fMP4 with LL-HLS,
 * into parts of about `partTarget`. Each segment or part is muxed once into the SegmentStore, shared by every
 * HLS/DASH client. No I/O, no timers: frames in, stored bytes out.
 */
export class Segmenter {
  readonly tracks = new TrackBuilder();
  private ts: TsMuxer | undefined;
  private tsChunks: Buffer[] = [];
  private pending: Pending = { video: [], audio: [] };
  /** every sample of the open segment, per track, for the DASH per-track segments */
  private segSamples: Pending = { video: [], audio: [] };
  private segStart = -1;
  private partStart = -1;
  private fragmentSeq = 1;
  private configVersion = -1;
  private lastDelta = { video: 33, audio: 21 };
  private discontinuityNext = false;
  private lastDts = { video: -1, audio: -1 };

  constructor(
    private readonly o: SegmenterOptions,
    readonly store: SegmentStore,
  ) {}

  /** A new publisher session (or a reconnect): the next segment starts with a discontinuity. */
  restart(): void {
    this.finishSegment(undefined);
    this.discontinuityNext = this.store.segments.length > 0;
  }

  write(frames: readonly Frame[]): void {
    for (const f of frames) {
      const built = this.tracks.accept(f);
      if (!built) continue;
      this.add(built.kind, built.sample);
    }
  }

  /** The publisher is gone for good: close the open segment and mark the end. */
  end(): void {
    this.finishSegment(undefined);
    this.store.end();
  }

  private activeTracks(): Track[] {
    return [this.tracks.video, this.tracks.audio].filter((t): t is NonNullable<typeof t> => t !== undefined);
  }

  private add(kind: 'video' | 'audio', s: Sample): void {
    const hasVideo = this.tracks.video !== undefined;
    if (kind === 'audio' && hasVideo && this.segStart < 0) return; // wait for the first keyframe
    const cuts = kind === 'video' ? s.keyframe : !hasVideo;
    if (this.configVersion !== this.tracks.configVersion && this.segStart >= 0 && cuts) {
      this.finishSegment(s.dts); // codec change: new init / PMT, with a discontinuity
      this.discontinuityNext = true;
    }
    if (this.segStart < 0) {
      if (!cuts) return;
      this.startSegment(s.dts);
    } else if (cuts && s.dts - this.segStart >= this.o.targetDuration * 1000 - 1) {
      this.finishSegment(s.dts);
      this.startSegment(s.dts);
    } else if (
      this.o.partTarget &&
      this.hasPending() &&
      s.dts - this.partStart + this.lastDelta[kind] > this.o.partTarget * 1000
    ) {
      // cut before the part would pass PART-TARGET (8216bis §4.4.4.9: each part <= PART-TARGET)
      this.flushPart(s.dts);
    }
    if (this.lastDts[kind] >= 0 && s.dts > this.lastDts[kind])
      this.lastDelta[kind] = s.dts - this.lastDts[kind];
    this.lastDts[kind] = s.dts;
    if (this.ts) {
      this.tsChunks.push(kind === 'video' ? this.ts.writeVideo(s) : this.ts.writeAudio([s]));
    } else {
      this.pending[kind].push(s);
      if (this.o.dash && !this.o.partTarget) this.segSamples[kind].push(s);
    }
  }

  private hasPending(): boolean {
    return this.pending.video.length + this.pending.audio.length > 0;
  }

  private startSegment(dts: number): void {
    if (this.configVersion !== this.tracks.configVersion) {
      this.configVersion = this.tracks.configVersion;
      const tracks = { video: this.tracks.video, audio: this.tracks.audio };
      if (this.o.format === 'fmp4') {
        this.store.setInit(initSegment(this.activeTracks()));
        if (this.o.dash) {
          this.store.dashInit = {
            video: tracks.video && initSegment([tracks.video]),
            audio: tracks.audio && initSegment([tracks.audio]),
          };
        }
      } else {
        this.ts = new TsMuxer(tracks);
      }
    }
    this.segStart = dts;
    this.partStart = dts;
    this.store.openSegment(new Date(this.o.now()), this.discontinuityNext);
    this.discontinuityNext = false;
    if (this.ts) this.tsChunks = [this.ts.segmentStart()];
  }

  /** Muxes pending samples as one fragment (an LL-HLS part, or the whole segment without parts). */
  private flushPart(endDts: number): void {
    if (!this.hasPending()) return;
    const runs = this.activeTracks()
      .map((track) => {
        const samples = this.pending[track.kind];
        const last = samples.at(-1);
        const lastDuration = last ? Math.max(1, endDts - last.dts) : 0;
        return { track, samples, lastDuration: Math.min(lastDuration, this.lastDelta[track.kind] * 4) };
      })
      .filter((r) => r.samples.length > 0);
    const first = this.pending.video[0];
    const independent = this.tracks.video ? first?.keyframe === true : true;
    const bytes = fragment(this.fragmentSeq++, runs);
    if (this.o.dash && this.o.partTarget) {
      // CMAF chunks per track: a DASH segment is its chunks, and the one being written can be sent as they come
      for (const run of runs) this.store.addDashChunk(run.track.kind, fragment(this.fragmentSeq++, [run]));
    }
    this.pending = { video: [], audio: [] };
    this.store.addPart({ bytes, duration: (endDts - this.partStart) / 1000, independent });
    this.partStart = endDts;
  }

  /** One CMAF fragment per track for the whole segment (DASH representations are one track each). */
  private dashSegment(endDts: number): DashSegment {
    const out: DashSegment = { startMs: this.segStart, durationMs: endDts - this.segStart };
    const chunks = this.store.current?.dash;
    if (this.o.partTarget && chunks) {
      if (chunks.video.length) out.video = Buffer.concat(chunks.video);
      if (chunks.audio.length) out.audio = Buffer.concat(chunks.audio);
      return out;
    }
    for (const track of this.activeTracks()) {
      const samples = this.segSamples[track.kind];
      const last = samples.at(-1);
      if (!last) continue;
      const lastDuration = Math.min(Math.max(1, endDts - last.dts), this.lastDelta[track.kind] * 4);
      out[track.kind] = fragment(this.fragmentSeq++, [{ track, samples, lastDuration }]);
    }
    this.segSamples = { video: [], audio: [] };
    return out;
  }

  private finishSegment(endDts: number | undefined): void {
    if (this.segStart < 0) return;
    const end =
      endDts ??
      Math.max(this.lastDts.video, this.lastDts.audio) +
        this.lastDelta[this.tracks.video ? 'video' : 'audio'];
    if (this.ts) {
      this.store.closeSegment((end - this.segStart) / 1000, Buffer.concat(this.tsChunks));
      this.tsChunks = [];
    } else {
      this.flushPart(end);
      this.store.closeSegment(
        (end - this.segStart) / 1000,
        undefined,
        this.o.dash ? this.dashSegment(end) : undefined,
      );
    }
    this.segStart = -1;
    this.partStart = -1;
  }
}
