/**
 * Fragmented MP4 from an ffmpeg output pipe -> FLV tag bodies, exactly what a publisher would send: HEVC as
 * Enhanced RTMP (FourCC `hvc1`: SequenceStart with the hvcC record, CodedFrames with an SI24 composition time),
 * AVC and AAC as legacy tags (so players that never announced a FourCC still get them), Opus as Enhanced RTMP audio. The output has the FlvReader's tag shape, so a
 * rendition read as fMP4 takes the same path into the hub as one read as FLV (see output.ts).
 *
 * Times: the first video and the first audio track are converted from their timescale to ms (decode time
 * rounded, composition time = rounded pts - rounded dts), as 32-bit RTMP times; decode times only move forward,
 * from `floorMs` on (see the constructor). After each moov, the sequence
 * headers of both tracks go out just before the first sample of either, at that sample's time.
 */
import { TidecastError } from '../errors.js';
import { type Fmp4Event, type Fmp4Limits, Fmp4Reader, type Mp4Track } from '../formats/fmp4/fmp4-reader.js';
import {
  aacFrame,
  aacSequenceHeader,
  avcFrame,
  avcSequenceHeader,
  exVideoCodedFrames,
  exVideoSequenceStart,
  opusFrame,
  opusSequenceStart,
} from '../media/tag-builder.js';

export interface MediaTag {
  /** 8 audio, 9 video */
  type: 8 | 9;
  /** ms, unsigned 32-bit (RTMP time) */
  timestamp: number;
  body: Buffer;
}

interface Selected {
  track: Mp4Track;
  /** the sequence header has been sent since the last moov */
  announced: boolean;
  /** the last decode time sent, ms */
  lastDts: number;
}

const U32 = 2 ** 32;

function toMs(ticks: number, timescale: number): number {
  return Math.round((ticks * 1000) / timescale);
}

export class Fmp4Tags {
  private readonly reader: Fmp4Reader;
  private video: Selected | undefined;
  private audio: Selected | undefined;
  /** samples of tracks that are not carried (a second video track, an unsupported codec) */
  ignoredSamples = 0;

  /**
   * @param floorMs no decode time goes below this (the `-itsoffset` of the input): an encoder with B-frames (x265)
   *   starts its decode times before the first presentation time. Those frames get decode times from `floorMs`
   *   on, one ms apart, and keep their presentation time (the composition offset shrinks), so no frame has to be
   *   dropped for a repeated time and key frames stay where the source has them.
   */
  constructor(
    limits: Partial<Fmp4Limits> = {},
    private readonly floorMs = 0,
  ) {
    this.reader = new Fmp4Reader(limits);
  }

  /** Feed any slice of the pipe; returns the tags it completed, in decode order. Throws MP4_* errors. */
  push(bytes: Buffer): MediaTag[] {
    return this.convert(this.reader.push(bytes));
  }

  private convert(events: Fmp4Event[]): MediaTag[] {
    const out: Array<MediaTag & { order: number }> = [];
    const headers: MediaTag[] = [];
    for (const e of events) {
      if (e.type === 'init') {
        this.onInit(e.tracks);
        continue;
      }
      const s = e.sample;
      const sel =
        this.video?.track.id === s.trackId
          ? this.video
          : this.audio?.track.id === s.trackId
            ? this.audio
            : undefined;
      if (!sel) {
        this.ignoredSamples++;
        continue;
      }
      const t = sel.track;
      const rawDts = toMs(s.dts, t.timescale);
      const dts = Math.max(rawDts, this.floorMs, sel.lastDts + 1);
      sel.lastDts = dts;
      const ts = dts % U32;
      // like ffmpeg's FLV muxer, every track's sequence header goes out before the first frame of any track, so
      // the hub (and the segmenter's init) sees all tracks at once
      for (const h of [this.video, this.audio]) {
        if (!h || h.announced) continue;
        h.announced = true;
        headers.push({ ...this.sequenceHeader(h.track), timestamp: ts });
      }
      if (sel === this.video) {
        const cto = toMs(s.dts + s.cts, t.timescale) - dts;
        if (cto < -0x800000 || cto > 0x7fffff) {
          throw new TidecastError(
            'MP4_BAD_BOX',
            `track ${t.id}: composition offset ${cto} ms does not fit SI24`,
          );
        }
        const body =
          t.codec === 'avc1'
            ? avcFrame(s.sync, cto, s.data)
            : exVideoCodedFrames('hvc1', s.sync, cto, s.data);
        out.push({ type: 9, timestamp: ts, body, order: out.length });
      } else {
        const body = t.codec === 'Opus' ? opusFrame(s.data) : aacFrame(s.data);
        out.push({ type: 8, timestamp: ts, body, order: out.length });
      }
    }
    // one fragment holds a run per track: interleave them by time (stable), as a publisher would
    out.sort((a, b) => a.timestamp - b.timestamp || a.order - b.order);
    // sequence headers first, at the time of the first frame
    for (const h of headers) h.timestamp = out[0]?.timestamp ?? h.timestamp;
    return [...headers, ...out.map(({ type, timestamp, body }) => ({ type, timestamp, body }))];
  }

  private onInit(tracks: Mp4Track[]): void {
    const video = tracks.find((t) => (t.codec === 'hvc1' || t.codec === 'avc1') && t.config);
    const audio = tracks.find((t) => (t.codec === 'mp4a' || t.codec === 'Opus') && t.config);
    // a new moov (ffmpeg does not send one mid-stream) keeps decode times moving forward
    this.video = video && { track: video, announced: false, lastDts: this.video?.lastDts ?? -1 };
    this.audio = audio && { track: audio, announced: false, lastDts: this.audio?.lastDts ?? -1 };
  }

  private sequenceHeader(t: Mp4Track): { type: 8 | 9; body: Buffer } {
    const config = t.config as Buffer;
    if (t.codec === 'avc1') return { type: 9, body: avcSequenceHeader(config) };
    if (t.codec === 'hvc1') return { type: 9, body: exVideoSequenceStart('hvc1', config) };
    if (t.codec === 'Opus') return { type: 8, body: opusSequenceStart(config) };
    return { type: 8, body: aacSequenceHeader(config) };
  }
}
