/**
 * AVCC/HVCC (length-prefixed NAL units, ISO/IEC 14496-15 §5.3.2 / §8.3.2) to Annex B byte stream
 * (ITU-T H.264 Annex B, H.265 Annex B), the form MPEG-TS requires for stream_type 0x1B / 0x24
 * (ISO/IEC 13818-1 §2.14 "Carriage of Rec. ITU-T H.264 | ISO/IEC 14496-10 video", §2.17 for HEVC).
 *
 * Per access unit this (like ffmpeg's TS muxer + mp4toannexb) guarantees:
 * - an access unit delimiter first (13818-1 §2.14.1 requires AUDs in TS; H.264 §7.4.1.2.3 puts it first),
 *   reusing the frame's own AUD when it starts with one and dropping any misplaced one;
 * - the parameter sets from the decoder configuration (VPS+SPS+PPS for HEVC, SPS+PPS for H.264) in access
 *   units with an IDR/IRAP slice, each kind only when the frame does not already carry it in band before
 *   that slice. They go right after the AUD, ahead of any SEI, so that buffering-period / picture-timing
 *   SEI (which reference the SPS) parse for a decoder joining here; when the frame carries some parameter
 *   sets itself, the missing ones go right after those (a PPS must follow its SPS).
 *   A sample flagged keyframe without an IDR/IRAP slice (open GOP, recovery point) gets them too, so
 *   every segment that starts on a keyframe is self-contained.
 * Every NAL unit gets a 4-byte start code. Emulation prevention is already inside the NAL units.
 */
import { TidecastError } from '../../errors.js';
import { parseAvcDecoderConfig } from '../../media/codecs/h264.js';
import { parseHevcDecoderConfig } from '../../media/codecs/hevc.js';
import type { VideoTrack } from '../../media/sample.js';

export interface ParameterSets {
  codec: 'h264' | 'hevc';
  /** Bytes per NAL length prefix in samples: 1, 2 or 4. */
  nalLengthSize: number;
  /** HEVC only (empty for H.264). */
  vps: Buffer[];
  sps: Buffer[];
  pps: Buffer[];
}

const START_CODE = Buffer.from([0, 0, 0, 1]);
/** H.264 AUD, primary_pic_type 7 (any slice type) + rbsp stop bit (H.264 §7.3.2.4). */
export const H264_AUD = Buffer.from([0x09, 0xf0]);
/** HEVC AUD (nal_unit_type 35, layer 0, tid 1), pic_type 2 (I, P, B) + stop bit (H.265 §7.3.2.5). */
export const HEVC_AUD = Buffer.from([0x46, 0x01, 0x50]);

/** Parameter sets and NAL length size from a track's avcC / hvcC. Throws CODEC_BAD_CONFIG otherwise. */
export function parameterSetsFromTrack(track: Pick<VideoTrack, 'codec' | 'config'>): ParameterSets {
  if (track.codec === 'avc1') {
    const c = parseAvcDecoderConfig(track.config);
    return { codec: 'h264', nalLengthSize: c.nalLengthSize, vps: [], sps: c.sps, pps: c.pps };
  }
  if (track.codec === 'hvc1') {
    const c = parseHevcDecoderConfig(track.config);
    return { codec: 'hevc', nalLengthSize: c.nalLengthSize, vps: c.vps, sps: c.sps, pps: c.pps };
  }
  throw new TidecastError('CODEC_BAD_CONFIG', `MPEG-TS: video codec ${track.codec} is not supported`);
}

type NalKind = 'aud' | 'vps' | 'sps' | 'pps' | 'irap' | 'vcl' | 'other';

/** Classifies a NAL unit by its header (H.264 §7.4.1 Table 7-1; H.265 §7.4.2.2 Table 7-1). */
export function nalKind(codec: 'h264' | 'hevc', nal: Buffer): NalKind {
  if (codec === 'h264') {
    const t = nal[0] & 0x1f;
    if (t === 9) return 'aud';
    if (t === 7) return 'sps';
    if (t === 8) return 'pps';
    if (t === 5) return 'irap';
    return t >= 1 && t <= 4 ? 'vcl' : 'other';
  }
  const t = (nal[0] >> 1) & 0x3f;
  if (t === 35) return 'aud';
  if (t === 32) return 'vps';
  if (t === 33) return 'sps';
  if (t === 34) return 'pps';
  if (t >= 16 && t <= 23) return 'irap'; // BLA, IDR, CRA and reserved IRAP types
  return t < 32 ? 'vcl' : 'other';
}

/** Splits a length-prefixed sample into NAL unit views (zero-length units are skipped). */
export function splitLengthPrefixed(data: Buffer, nalLengthSize: number): Buffer[] {
  const out: Buffer[] = [];
  let off = 0;
  while (off < data.length) {
    if (off + nalLengthSize > data.length) {
      throw new TidecastError('CODEC_BAD_CONFIG', `video sample: truncated NAL length at byte ${off}`);
    }
    const len = data.readUIntBE(off, nalLengthSize);
    off += nalLengthSize;
    if (off + len > data.length) {
      throw new TidecastError(
        'CODEC_BAD_CONFIG',
        `video sample: NAL unit of ${len} bytes at byte ${off} overruns the ${data.length}-byte sample`,
      );
    }
    if (len > 0) out.push(data.subarray(off, off + len));
    off += len;
  }
  return out;
}

/**
 * Converts one access unit from length-prefixed form to Annex B with AUD and parameter-set insertion
 * (see the module comment). `keyframe` is the sample's sync flag.
 */
export function toAnnexB(data: Buffer, ps: ParameterSets, keyframe: boolean): Buffer {
  const nals = splitLengthPrefixed(data, ps.nalLengthSize);
  const kinds = nals.map((n) => nalKind(ps.codec, n));
  const out: Buffer[] = [];
  const push = (nal: Buffer) => out.push(START_CODE, nal);

  push(kinds[0] === 'aud' ? nals[0] : ps.codec === 'h264' ? H264_AUD : HEVC_AUD);
  // The picture that needs parameter sets: the first IDR/IRAP slice, else (keyframe flag) the first slice.
  let target = kinds.indexOf('irap');
  if (target < 0 && keyframe) target = kinds.indexOf('vcl');
  const missing: Buffer[] = [];
  let insertAt = -1; // index in `nals` to insert before; 0 = right after the AUD
  if (target >= 0) {
    const before = kinds.slice(0, target);
    if (!before.includes('vps')) missing.push(...ps.vps);
    if (!before.includes('sps')) missing.push(...ps.sps);
    if (!before.includes('pps')) missing.push(...ps.pps);
    // After the last in-band parameter set (a PPS must follow its SPS), else right after the AUD.
    const lastSet = Math.max(before.lastIndexOf('vps'), before.lastIndexOf('sps'), before.lastIndexOf('pps'));
    insertAt = lastSet + 1;
  }
  for (let i = 0; i <= nals.length; i++) {
    if (i === insertAt) for (const p of missing) push(p);
    if (i < nals.length && kinds[i] !== 'aud') push(nals[i]); // first AUD already out; others misplaced
  }
  return Buffer.concat(out);
}
