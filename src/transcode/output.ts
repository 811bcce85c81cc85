import type { Readable } from 'node:stream';
import { Ingest, type IngestResult } from '../core/ingest.js';
import type { StreamRegistry } from '../core/registry.js';
import type { Stream } from '../core/stream.js';
import type { Publisher } from '../core/types.js';
import { FlvReader } from '../formats/flv/flv-reader.js';
import { parseVideoTagBody } from '../formats/flv/tag-body.js';
import type { Logger } from '../observability/logger.js';
import type { RenditionFormat } from './ffmpeg-args.js';
import { Fmp4Tags, type MediaTag } from './fmp4-tags.js';

/** A push reader of one output pipe: FLV tags, or fragmented MP4 turned into the same tags. */
interface TagReader {
  push(bytes: Buffer): MediaTag[] | ReturnType<FlvReader['push']>;
}

/**
 * One rendition: FLV (or, for HEVC, fragmented MP4: see fmp4-tags.ts) from an ffmpeg output pipe, published into the hub as `{app}/{stream}_{name}`, an in-process
 * Publisher (claim -> announce -> Ingest -> stream.write, as an RTMP publisher does). The claim is kept across
 * ffmpeg restarts, so players stay attached; a restarted ffmpeg repeats the source's last GOP, so frames at or
 * before what was already published are skipped (video resumes at a keyframe after it), keeping every track's
 * time moving forward and equal to the source's.
 */
export class RenditionOutput {
  private stream: Stream | undefined;
  private ingest: Ingest | undefined;
  private reader: TagReader | undefined;
  private readonly publisher: Publisher;
  private lastVideo = -1;
  private lastAudio = -1;
  private waitKeyframe = false;
  /** refused by the registry (name busy, max publishers); retried with the next child */
  private refused = false;
  private kicked = false;
  framesOut = 0;
  bytesIn = 0;
  skippedFrames = 0;

  constructor(
    readonly app: string,
    readonly name: string,
    private readonly registry: StreamRegistry,
    private readonly log: Logger,
    /** taken off every timestamp (the -itsoffset the input was given), ms */
    private readonly offsetMs: number,
    private readonly onKick: (reason: string) => void,
    /** what ffmpeg writes to this rendition's pipe */
    readonly format: RenditionFormat = 'flv',
  ) {
    this.publisher = {
      id: `transcode-${app}/${name}`,
      protocol: 'transcode',
      remoteAddress: '127.0.0.1',
      kick: (reason) => {
        this.kicked = true;
        this.release();
        this.onKick(reason);
      },
    };
  }

  get path(): string {
    return `${this.app}/${this.name}`;
  }

  get live(): boolean {
    return this.stream !== undefined && this.stream.publisher === this.publisher;
  }

  /** A new ffmpeg: read its pipe for this rendition. */
  attach(pipe: Readable): void {
    const reader: TagReader = this.format === 'fmp4' ? new Fmp4Tags({}, this.offsetMs) : new FlvReader();
    this.reader = reader;
    this.refused = false;
    this.kicked = false;
    // after a restart, video resumes at a keyframe past what players have
    this.waitKeyframe = this.lastVideo >= 0;
    pipe.on('data', (b: Buffer) => {
      if (this.reader !== reader) return;
      this.bytesIn += b.length;
      try {
        this.onTags(reader.push(b));
      } catch (err) {
        this.log.warn(
          { path: this.path, err: (err as Error).message },
          `bad ${this.format === 'fmp4' ? 'fMP4' : 'FLV'} from ffmpeg; rendition paused`,
        );
        this.reader = undefined;
      }
    });
  }

  private onTags(tags: ReturnType<TagReader['push']>): void {
    if (tags.length === 0 || this.refused || this.kicked) return;
    if (!this.stream && !this.claim()) return;
    const stream = this.stream!;
    const ingest = this.ingest!;
    const out: IngestResult = { frames: [] };
    for (const t of tags) {
      const ts = Math.max(0, t.timestamp - this.offsetMs);
      if (t.type === 9 || t.type === 8) {
        if (!this.keep(t.type, ts, t.body)) {
          this.skippedFrames++;
          continue;
        }
      }
      ingest.accept({ type: t.type, timestamp: ts, payload: t.body }, out);
    }
    if (out.metadata) stream.setMetadata(out.metadata);
    this.framesOut += out.frames.length;
    stream.write(out.frames);
  }

  /** Sequence headers always pass; media only moves forward (after a restart: from a keyframe, for video). */
  private keep(type: 8 | 9, ts: number, body: Buffer): boolean {
    if (body.length === 0) return true;
    if (type === 9) {
      let info: ReturnType<typeof parseVideoTagBody>;
      try {
        info = parseVideoTagBody(body);
      } catch {
        return false;
      }
      if (info.isSequenceHeader || info.isCommand || info.isMetadata) return true;
      if (ts <= this.lastVideo) return false;
      if (this.waitKeyframe) {
        if (!info.keyframe) return false;
        this.waitKeyframe = false;
      }
      this.lastVideo = ts;
      return true;
    }
    // AAC sequence header: packet type 0 after the sound format byte
    const aacHeader = body[0] >> 4 === 10 && body[1] === 0;
    if (aacHeader) return true;
    if (ts <= this.lastAudio) return false;
    // audio of a restarted child waits for its video to resume, so both tracks restart together
    if (this.waitKeyframe) return false;
    this.lastAudio = ts;
    return true;
  }

  private claim(): boolean {
    const c = this.registry.claim(this.app, this.name, this.publisher);
    if (!c.ok) {
      this.refused = true;
      this.log.warn({ path: this.path, reason: c.reason }, 'rendition not published');
      return false;
    }
    this.stream = c.stream;
    this.ingest = new Ingest(c.stream);
    this.registry.announce(c.stream);
    this.log.info({ path: this.path }, 'rendition live');
    return true;
  }

  /** The rendition is over (the source ended, or shutdown): its players end or wait per the reconnect window. */
  release(): void {
    this.reader = undefined;
    const s = this.stream;
    if (!s) return;
    this.stream = undefined;
    this.ingest = undefined;
    this.lastVideo = -1;
    this.lastAudio = -1;
    this.registry.release(s, this.publisher);
    this.log.info({ path: this.path, frames: this.framesOut }, 'rendition stopped');
  }
}
