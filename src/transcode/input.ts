import type { Writable } from 'node:stream';
import { Egress, type EgressPolicy } from '../core/egress.js';
import type { Stream } from '../core/stream.js';
import type { EndReason, Subscriber } from '../core/types.js';
import { decodeAmf0 } from '../formats/amf/amf0.js';
import { flvHeader } from '../formats/flv/flv-writer.js';
import type { Frame } from '../media/frame.js';
import type { Counters } from '../observability/counters.js';
import { WritableSink } from '../servers/socket-sink.js';

export interface TranscodeInputEvents {
  /**
   * The source has what a decoder needs to start (sequence headers and a keyframe, or audio only): start a child
   * now. Called once per publisher session; `first` is false for a returning publisher (restart the child).
   */
  onReady(first: boolean): void;
  /** the source is over for good (or the server shuts down) */
  onEnd(reason: EndReason): void;
}

/**
 * The transcoder's view of its source: a Subscriber in the same process that writes an FLV header and the frames'
 * shared FLV tags (`frame.flv()`) to a child's stdin. Like a slow player, it never blocks the publisher: while
 * stdin is congested frames queue (bounded by bytes and media time); past that the queue is dropped and the child
 * resumes at the next keyframe. Each new child (a restart) gets the header and the GOP cache again.
 */
export class TranscodeInput implements Subscriber {
  readonly protocol = 'transcode';
  private egress: Egress | undefined;
  private sessions = 0;
  private ready = false;
  /** first audio time seen without video in this session (audio-only detection) */
  private audioSince = -1;
  /** frames dropped over every child */
  droppedFrames = 0;
  /** bytes written to children that are gone */
  private bytesDone = 0;

  constructor(
    readonly id: string,
    private readonly stream: () => Stream | undefined,
    private readonly policy: EgressPolicy,
    private readonly counters: Counters,
    private readonly events: TranscodeInputEvents,
  ) {}

  /** A new child's stdin: FLV header, metadata, sequence headers and the GOP, then live frames. */
  attach(stdin: Writable): void {
    this.detach();
    const egress = new Egress(
      new WritableSink(stdin, () => egress.flush()),
      (f) => f.flv(),
      this.policy,
      {
        onDrop: (reason, n) => {
          this.droppedFrames += n;
          this.counters.inc('frames_dropped', `transcode:${reason}`, n);
        },
        onSlowConsumer: () => {}, // maxSkips is unbounded: a slow child keeps skipping, it is never cut off
      },
      () => this.stream()?.gop.hasVideo ?? true,
    );
    this.egress = egress;
    const s = this.stream();
    if (!s?.live) return;
    egress.pushRaw(flvHeader(tracksOf(s)));
    egress.push(s.gop.initFrames());
  }

  /** The child is gone: frames are discarded until the next attach(). */
  detach(): void {
    if (this.egress) {
      this.bytesDone += this.egress.bytesOut;
      this.egress.closed = true;
    }
    this.egress = undefined;
  }

  /** A publisher session begins: its frames go to a child once it is ready (a new child for a new session). */
  start(_init: readonly Frame[]): void {
    this.sessions++;
    this.ready = false;
    this.audioSince = -1;
    if (this.sessions > 1) this.detach(); // the old child must not get the new session's frames
    this.checkReady();
  }

  write(frames: readonly Frame[]): void {
    if (!this.ready) {
      for (const f of frames) if (f.isAudio && this.audioSince < 0) this.audioSince = f.timestamp;
      const last = frames.at(-1);
      this.checkReady(last?.timestamp);
      return; // attach() writes the GOP, which holds these frames
    }
    this.egress?.push(frames);
  }

  private checkReady(now?: number): void {
    const s = this.stream();
    if (this.ready || !s?.live) return;
    const g = s.gop;
    const video = g.videoHeader !== undefined && g.gopFrameCount > 0;
    const meta = metadataTracks(s);
    // audio only: the metadata says so, or a second of audio came without any video
    const audioOnly =
      g.audioHeader !== undefined &&
      !g.hasVideo &&
      (meta?.video === false || (now !== undefined && this.audioSince >= 0 && now - this.audioSince >= 1000));
    if (!video && !audioOnly) return;
    this.ready = true;
    this.events.onReady(this.sessions <= 1);
  }

  end(reason: EndReason): void {
    this.detach();
    this.events.onEnd(reason);
  }

  /** bytes written to every child so far */
  get bytesOut(): number {
    return this.bytesDone + (this.egress?.bytesOut ?? 0);
  }

  get pendingBytes(): number {
    return this.egress?.pendingBytes ?? 0;
  }
}

/** Tracks named by onMetaData (audiocodecid / videocodecid), when there is metadata. */
function metadataTracks(s: Stream): { audio: boolean; video: boolean } | undefined {
  const meta = s.gop.metadata;
  if (!meta) return undefined;
  try {
    const obj = decodeAmf0(meta.body)[1];
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) return undefined;
    const o = obj as Record<string, unknown>;
    return { audio: 'audiocodecid' in o, video: 'videocodecid' in o };
  } catch {
    return undefined;
  }
}

/** FLV header flags: what the stream has shown, or its metadata announces (ffmpeg maps the streams it sees). */
function tracksOf(s: Stream): { audio: boolean; video: boolean } {
  const m = metadataTracks(s);
  return { audio: s.gop.hasAudio || m?.audio === true, video: s.gop.hasVideo || m?.video === true };
}
