/**
 * H.265 / HEVC: HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1, the `hvcC` box body and
 * the E-RTMP `hvc1` SequenceStart payload) plus enough of the SPS (ITU-T H.265 §7.3.2.2) for the
 * picture size.
 */
import { TidecastError } from '../../errors.js';
import { BitReader, removeEmulationPrevention } from '../bits/bit-reader.js';

export interface HevcDecoderConfig {
  /** general_profile_space (0 in practice). */
  profileSpace: number;
  /** general_profile_idc (1 Main, 2 Main 10, 3 Main Still Picture, 4 RExt...). */
  profile: number;
  /** general_tier_flag: 0 Main, 1 High. */
  tier: number;
  /** general_level_idc (30 x level, e.g. 120 = 4.0). */
  level: number;
  /** general_profile_compatibility_flags (32 bits). */
  compatibilityFlags: number;
  /** general constraint indicator flags (6 bytes). */
  constraintFlags: Buffer;
  /** Bytes per NAL unit length prefix in frames: 1, 2 or 4. */
  nalLengthSize: number;
  chromaFormat: number;
  bitDepth: number;
  vps: Buffer[];
  sps: Buffer[];
  pps: Buffer[];
  /** From the first SPS, after the conformance window; undefined if the SPS could not be parsed. */
  width?: number;
  height?: number;
}

const NAL_VPS = 32;
const NAL_SPS = 33;
const NAL_PPS = 34;

function bad(msg: string): TidecastError {
  return new TidecastError('CODEC_BAD_CONFIG', `hvcC: ${msg}`);
}

/** Parses an HEVCDecoderConfigurationRecord (ISO/IEC 14496-15 §8.3.3.1.2). */
export function parseHevcDecoderConfig(hvcC: Buffer): HevcDecoderConfig {
  if (hvcC.length < 23) throw bad(`record too short (${hvcC.length} bytes)`);
  if (hvcC[0] !== 1) throw bad(`unsupported configurationVersion ${hvcC[0]}`);
  const nalLengthSize = (hvcC[21] & 0x03) + 1;
  if (nalLengthSize === 3) throw bad('lengthSizeMinusOne = 2 is not allowed');
  const cfg: HevcDecoderConfig = {
    profileSpace: hvcC[1] >> 6,
    tier: (hvcC[1] >> 5) & 1,
    profile: hvcC[1] & 0x1f,
    compatibilityFlags: hvcC.readUInt32BE(2),
    constraintFlags: Buffer.from(hvcC.subarray(6, 12)),
    level: hvcC[12],
    chromaFormat: hvcC[16] & 0x03,
    bitDepth: (hvcC[17] & 0x07) + 8,
    nalLengthSize,
    vps: [],
    sps: [],
    pps: [],
  };
  let off = 23;
  for (let a = 0, arrays = hvcC[22]; a < arrays; a++) {
    if (off + 3 > hvcC.length) throw bad('truncated NAL unit array header');
    const type = hvcC[off] & 0x3f;
    const count = hvcC.readUInt16BE(off + 1);
    off += 3;
    for (let i = 0; i < count; i++) {
      if (off + 2 > hvcC.length) throw bad('truncated NAL unit length');
      const len = hvcC.readUInt16BE(off);
      off += 2;
      if (off + len > hvcC.length) throw bad(`truncated NAL unit (${len} bytes)`);
      const nal = hvcC.subarray(off, off + len);
      off += len;
      if (type === NAL_VPS) cfg.vps.push(nal);
      else if (type === NAL_SPS) cfg.sps.push(nal);
      else if (type === NAL_PPS) cfg.pps.push(nal);
    }
  }
  if (cfg.sps.length > 0) {
    try {
      const size = parseHevcSpsSize(cfg.sps[0]);
      cfg.width = size.width;
      cfg.height = size.height;
    } catch (err) {
      if (!(err instanceof TidecastError)) throw err;
      // Size stays unknown; the record itself is usable.
    }
  }
  return cfg;
}

/** profile_tier_level(1, maxSubLayersMinus1) (H.265 §7.3.3): skipped, only its length matters. */
function skipProfileTierLevel(r: BitReader, maxSubLayersMinus1: number): void {
  r.skipBits(96); // general profile (88 bits) + general_level_idc (8)
  const profilePresent: boolean[] = [];
  const levelPresent: boolean[] = [];
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    profilePresent.push(r.readBool());
    levelPresent.push(r.readBool());
  }
  if (maxSubLayersMinus1 > 0) r.skipBits(2 * (8 - maxSubLayersMinus1)); // reserved_zero_2bits
  for (let i = 0; i < maxSubLayersMinus1; i++) {
    if (profilePresent[i]) r.skipBits(88);
    if (levelPresent[i]) r.skipBits(8);
  }
}

/** Picture size from an SPS NAL unit (2-byte NAL header included), H.265 §7.3.2.2.1 and §7.4.3.2.1. */
export function parseHevcSpsSize(sps: Buffer): { width: number; height: number } {
  if (sps.length < 3 || ((sps[0] >> 1) & 0x3f) !== NAL_SPS) throw bad('not an SPS NAL unit');
  const r = new BitReader(removeEmulationPrevention(sps), 2);
  r.skipBits(4); // sps_video_parameter_set_id
  const maxSubLayersMinus1 = r.readBits(3);
  if (maxSubLayersMinus1 > 6) throw bad(`sps_max_sub_layers_minus1 ${maxSubLayersMinus1}`);
  r.skipBits(1); // sps_temporal_id_nesting_flag
  skipProfileTierLevel(r, maxSubLayersMinus1);
  r.readUE(); // sps_seq_parameter_set_id
  const chromaFormat = r.readUE();
  if (chromaFormat > 3) throw bad(`chroma_format_idc ${chromaFormat}`);
  const separateColourPlane = chromaFormat === 3 && r.readBool();
  let width = r.readUE(); // pic_width_in_luma_samples
  let height = r.readUE();
  if (r.readBool()) {
    // conformance_window_flag; offsets are in chroma units (Table 6-1 SubWidthC/SubHeightC).
    const chromaArrayType = separateColourPlane ? 0 : chromaFormat;
    const subW = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
    const subH = chromaArrayType === 1 ? 2 : 1;
    width -= subW * (r.readUE() + r.readUE());
    height -= subH * (r.readUE() + r.readUE());
  }
  if (width <= 0 || height <= 0 || width > 65535 || height > 65535) {
    throw bad(`implausible picture size ${width}x${height}`);
  }
  return { width, height };
}

/**
 * RFC 6381 / ISO/IEC 14496-15 Annex E codec string, e.g. `hvc1.1.6.L120.90`: profile space + idc,
 * bit-reversed compatibility flags in hex, tier + level, constraint bytes without trailing zeros.
 */
export function hevcCodecString(cfg: HevcDecoderConfig, sampleEntry: 'hvc1' | 'hev1' = 'hvc1'): string {
  const space = ['', 'A', 'B', 'C'][cfg.profileSpace] ?? '';
  let reversed = 0;
  for (let i = 0; i < 32; i++) if ((cfg.compatibilityFlags >>> i) & 1) reversed |= 1 << (31 - i);
  const bytes = [...cfg.constraintFlags];
  while (bytes.length > 0 && bytes[bytes.length - 1] === 0) bytes.pop();
  const constraints = bytes.map((b) => `.${b.toString(16).toUpperCase()}`).join('');
  const tier = cfg.tier ? 'H' : 'L';
  return `${sampleEntry}.${space}${cfg.profile}.${(reversed >>> 0).toString(16).toUpperCase()}.${tier}${cfg.level}${constraints}`;
}
