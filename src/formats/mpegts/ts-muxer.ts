/**
 * MPEG-TS muxer for HLS segments (ISO/IEC 13818-1): one program, H.264 or HEVC video + AAC (ADTS) audio.
 *
 * Layout (the ffmpeg / nginx-rtmp convention): PAT on PID 0, PMT on 0x1000, video on 0x100 (stream_id 0xE0),
 * audio on 0x101 (stream_id 0xC0); the PCR rides on the video PID, or on the audio PID without video.
 *
 * Timestamps: input times are ms on the stream's extended timeline. PTS/DTS = (t + 1400 ms) x 90, taken
 * modulo 2^33 (§2.4.3.7). The constant 1.4 s offset is what ffmpeg's TS muxer produces, so B-frame PTS,
 * negative composition offsets of up to 1.4 s and the PCR lead below never go negative. PTS < DTS is
 * clamped to DTS (rule 13). DTS is written only when it differs from PTS.
 *
 * PCR (§2.4.3.5; §2.7.2 wants them at most 100 ms apart): value = DTS + 1400 - 700 ms, i.e. 0.7 s ahead
 * of the data it precedes (ffmpeg's VBR rule with its default max_delay), never decreasing. Every PES on the
 * PCR PID carries one in the adaptation field of its first packet (so every video frame, keyframes
 * included; 8 bytes each). Before a PES on another PID (audio), an adaptation-field-only PCR packet goes
 * out on the PCR PID when the segment has no PCR yet or when the next expected PCR opportunity (the next
 * video frame at the observed frame interval, or the audio PES after this one) would be more than 80 ms
 * after the last PCR. So 25-30 fps video needs no extra packets, low-frame-rate video or a video stall gets
 * PCR-only packets between audio PES, and PCRs stay <= 100 ms apart as long as the input has no gaps
 * larger than that. Without video, keep audio PES <= ~85 ms (4 AAC frames at 48 kHz).
 * If timestamps jump back by more than 1 s (publisher reconnect), the next PCR carries
 * discontinuity_indicator = 1.
 *
 * Continuity counters are kept per PID for the muxer's lifetime, so they continue across segments for all
 * PIDs (PAT/PMT included) and concatenated segments form one continuous stream.
 */
import { TidecastError } from '../../errors.js';
import { parseAudioSpecificConfig } from '../../media/codecs/aac.js';
import type { AudioTrack, Sample, VideoTrack } from '../../media/sample.js';
import { ADTS_HEADER_SIZE, type AdtsInfo, adtsHeader, checkAdtsInfo } from './adts.js';
import { type ParameterSets, parameterSetsFromTrack, toAnnexB } from './annexb.js';
import { ContinuityCounters, packetize, pcrOnlyPacket } from './packets.js';
import { MAX_BOUNDED_PES_PAYLOAD, pesHeader, STREAM_ID_AUDIO, STREAM_ID_VIDEO } from './pes.js';
import { PAT_PID, type PmtStream, patSection, pmtSection, StreamType } from './psi.js';

export const PMT_PID = 0x1000;
export const VIDEO_PID = 0x100;
export const AUDIO_PID = 0x101;
/** Added to every input time before conversion to the 90 kHz clock. */
export const TS_TIME_OFFSET_MS = 1400;
/** How far the PCR runs ahead of the DTS of the data that follows it (a T-STD buffering allowance). */
export const PCR_LEAD_MS = 700;
/** Insert a PCR-only packet when the next PCR opportunity would otherwise be later than this. */
export const PCR_TARGET_GAP_MS = 80;
/** A PCR going back further than this is a new time base (discontinuity_indicator). */
const PCR_RESET_MS = 1000;

export interface TsMuxerTracks {
  video?: VideoTrack;
  audio?: AudioTrack;
}

export class TsMuxer {
  readonly pcrPid: number;
  private readonly cc = new ContinuityCounters();
  /** pointer_field 0 (§2.4.4.2) + PAT section, and the same for the PMT. */
  private readonly pat: Buffer;
  private readonly pmt: Buffer;
  private readonly params: ParameterSets | undefined;
  private readonly adts: AdtsInfo | undefined;
  /** Last PCR written, in ms on the offset timeline; undefined before the first. */
  private lastPcrMs: number | undefined;
  /** No PCR written yet in the current segment. */
  private pcrDue = true;
  /** Duration of one AAC frame (1024 samples at the core rate), ms. */
  private readonly aacFrameMs: number = 0;
  /** DTS of the last video frame and the interval before it (ms), to predict the next video PCR. */
  private lastVideoDts: number | undefined;
  private videoInterval: number | undefined;

  /** Throws CODEC_BAD_CONFIG for unsupported codecs (AV1, Opus) or unusable configuration records. */
  constructor(tracks: TsMuxerTracks) {
    const streams: PmtStream[] = [];
    if (tracks.video) {
      this.params = parameterSetsFromTrack(tracks.video);
      streams.push({
        streamType: this.params.codec === 'h264' ? StreamType.H264 : StreamType.HEVC,
        pid: VIDEO_PID,
      });
    }
    if (tracks.audio) {
      if (tracks.audio.codec !== 'mp4a') {
        throw new TidecastError(
          'CODEC_BAD_CONFIG',
          `MPEG-TS: audio codec ${tracks.audio.codec} is not supported`,
        );
      }
      const asc = parseAudioSpecificConfig(tracks.audio.config);
      this.adts = {
        objectType: asc.objectType,
        samplingIndex: asc.samplingIndex,
        channelConfig: asc.channelConfig,
      };
      checkAdtsInfo(this.adts);
      this.aacFrameMs = (1024 * 1000) / asc.coreSampleRate;
      streams.push({ streamType: StreamType.AAC_ADTS, pid: AUDIO_PID });
    }
    if (streams.length === 0) throw new TidecastError('CODEC_BAD_CONFIG', 'MPEG-TS: no tracks');
    this.pcrPid = tracks.video ? VIDEO_PID : AUDIO_PID;
    const pointer = Buffer.from([0]);
    this.pat = Buffer.concat([pointer, patSection(PMT_PID)]);
    this.pmt = Buffer.concat([pointer, pmtSection(this.pcrPid, streams)]);
  }

  /** Starts a new segment: returns PAT + PMT packets (call at each segment start). CCs continue. */
  segmentStart(): Buffer {
    this.pcrDue = true;
    return Buffer.concat([
      packetize(PAT_PID, this.pat, this.cc, {}, 'psi'),
      packetize(PMT_PID, this.pmt, this.cc, {}, 'psi'),
    ]);
  }

  /**
   * One video access unit (length-prefixed NAL units) -> the TS packets of one PES: AUD first, parameter
   * sets before every IDR/IRAP, PCR in the first packet, random_access_indicator on keyframes.
   */
  writeVideo(sample: Sample): Buffer {
    if (!this.params) throw new Error('TsMuxer.writeVideo: the muxer has no video track');
    const es = toAnnexB(sample.data, this.params, sample.keyframe);
    const pts = toTs(Math.max(sample.pts, sample.dts));
    const header = pesHeader(STREAM_ID_VIDEO, es.length, pts, toTs(sample.dts), true);
    const { pcr, discontinuity } = this.nextPcr(sample.dts);
    if (this.lastVideoDts !== undefined && sample.dts > this.lastVideoDts) {
      this.videoInterval = sample.dts - this.lastVideoDts;
    }
    this.lastVideoDts = sample.dts;
    return packetize(VIDEO_PID, Buffer.concat([header, es]), this.cc, {
      pcr,
      discontinuity,
      randomAccess: sample.keyframe,
    });
  }

  /**
   * One or more raw AAC frames -> one PES (ADTS header per frame, PTS of the first). A group larger than
   * a bounded PES can hold (64 KiB) is split into several PES, each stamped with its first frame's time.
   */
  writeAudio(samples: Sample[]): Buffer {
    const adts = this.adts;
    if (!adts) throw new Error('TsMuxer.writeAudio: the muxer has no audio track');
    const out: Buffer[] = [];
    let i = 0;
    while (i < samples.length) {
      const first = samples[i];
      const frames: Buffer[] = [];
      let size = 0;
      while (i < samples.length) {
        const n = ADTS_HEADER_SIZE + samples[i].data.length;
        if (frames.length > 0 && size + n > MAX_BOUNDED_PES_PAYLOAD) break;
        frames.push(adtsHeader(adts, samples[i].data.length), samples[i].data);
        size += n;
        i++;
      }
      const es = Buffer.concat(frames, size);
      const header = pesHeader(STREAM_ID_AUDIO, es.length, toTs(first.pts), undefined, false);
      const payload = Buffer.concat([header, es]);
      if (this.pcrPid === AUDIO_PID) {
        const { pcr, discontinuity } = this.nextPcr(first.dts);
        out.push(packetize(AUDIO_PID, payload, this.cc, { pcr, discontinuity, randomAccess: true }));
      } else {
        if (this.needsPcrOnly(first.dts, frames.length / 2)) {
          const { pcr, discontinuity } = this.nextPcr(first.dts);
          out.push(pcrOnlyPacket(this.pcrPid, pcr, this.cc, discontinuity));
        }
        out.push(packetize(AUDIO_PID, payload, this.cc));
      }
    }
    return Buffer.concat(out);
  }

  /**
   * Whether an audio PES at `dtsMs` holding `frameCount` frames needs a PCR-only packet in front: the
   * next PCR would come with the next video frame (if one is expected after this PES starts) or, at the
   * latest, in front of the audio PES after this one.
   */
  private needsPcrOnly(dtsMs: number, frameCount: number): boolean {
    if (this.pcrDue || this.lastPcrMs === undefined) return true;
    let next = dtsMs + frameCount * this.aacFrameMs;
    if (this.lastVideoDts !== undefined && this.videoInterval !== undefined) {
      const videoNext = this.lastVideoDts + this.videoInterval;
      if (videoNext > dtsMs) next = Math.min(next, videoNext);
    }
    return next + TS_TIME_OFFSET_MS - PCR_LEAD_MS - this.lastPcrMs > PCR_TARGET_GAP_MS;
  }

  /** The PCR (90 kHz) for data with decode time `dtsMs`, kept non-decreasing unless the time base resets. */
  private nextPcr(dtsMs: number): { pcr: number; discontinuity: boolean } {
    let pcrMs = dtsMs + TS_TIME_OFFSET_MS - PCR_LEAD_MS;
    let discontinuity = false;
    if (this.lastPcrMs !== undefined) {
      if (pcrMs < this.lastPcrMs - PCR_RESET_MS) discontinuity = true;
      else pcrMs = Math.max(pcrMs, this.lastPcrMs);
    }
    this.lastPcrMs = pcrMs;
    this.pcrDue = false;
    return { pcr: Math.round(pcrMs * 90), discontinuity };
  }
}

/** ms on the stream timeline -> 90 kHz with the constant offset (wrapped to 33 bits by the writers). */
function toTs(ms: number): number {
  return Math.round((ms + TS_TIME_OFFSET_MS) * 90);
}
