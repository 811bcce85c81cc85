/**
 * H.264 / AVC: AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1, the `avcC` box body and
 * the payload of an FLV AVC sequence header, FLV spec §E.4.3.2) and sequence parameter set
 * (ITU-T H.264 §7.3.2.1.1) parsing.
 */
import { TidecastError } from '../../errors.js';
import { BitReader, removeEmulationPrevention } from '../bits/bit-reader.js';

export interface AvcDecoderConfig {
  profile: number;
  /** profile_compatibility byte (constraint_set flags). */
  compat: number;
  level: number;
  /** Bytes per NAL unit length prefix in frames: 1, 2 or 4. */
  nalLengthSize: number;
  sps: Buffer[];
  pps: Buffer[];
}

export interface H264SpsInfo {
  profile: number;
  level: number;
  /** Display size after frame cropping. */
  width: number;
  height: number;
  /** From VUI timing info: time_scale / (2 * num_units_in_tick). */
  frameRate?: number;
  /** chroma_format_idc: 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4. */
  chromaFormat: number;
  /** Luma bit depth. */
  bitDepth: number;
}

function bad(msg: string): TidecastError {
  return new TidecastError('CODEC_BAD_CONFIG', `avcC/SPS: ${msg}`);
}

/** Parses an AVCDecoderConfigurationRecord (ISO/IEC 14496-15 §5.3.3.1). */
export function parseAvcDecoderConfig(buf: Buffer): AvcDecoderConfig {
  if (buf.length < 7) throw bad(`record too short (${buf.length} bytes)`);
  if (buf[0] !== 1) throw bad(`unsupported configurationVersion ${buf[0]}`);
  const nalLengthSize = (buf[4] & 0x03) + 1;
  if (nalLengthSize === 3) throw bad('lengthSizeMinusOne = 2 is not allowed');
  let off = 5;
  const readSets = (count: number, what: string): Buffer[] => {
    const out: Buffer[] = [];
    for (let i = 0; i < count; i++) {
      if (off + 2 > buf.length) throw bad(`truncated ${what} length`);
      const len = buf.readUInt16BE(off);
      off += 2;
      if (off + len > buf.length) throw bad(`truncated ${what} (${len} bytes)`);
      out.push(buf.subarray(off, off + len));
      off += len;
    }
    return out;
  };
  const sps = readSets(buf[off++] & 0x1f, 'SPS');
  if (off >= buf.length) throw bad('missing numOfPictureParameterSets');
  const pps = readSets(buf[off++], 'PPS');
  // Any high-profile tail (chroma_format, bit depths, SPS extensions) is ignored: the SPS says it too.
  return { profile: buf[1], compat: buf[2], level: buf[3], nalLengthSize, sps, pps };
}

/** RFC 6381 §3.3 codec string, e.g. `avc1.64001f`. */
export function avcCodecString(cfg: { profile: number; compat: number; level: number }): string {
  const hex = (n: number) => (n & 0xff).toString(16).padStart(2, '0');
  return `avc1.${hex(cfg.profile)}${hex(cfg.compat)}${hex(cfg.level)}`;
}

/** profile_idc values whose SPS carries chroma_format_idc and bit depths (H.264 §7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** scaling_list() (H.264 §7.3.2.1.1.1); only consumed, values are not needed. */
function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) {
      const delta = r.readSE();
      next = (last + delta + 256) % 256;
    }
    last = next === 0 ? last : next;
  }
}

/** Parses a sequence parameter set NAL unit (with its 1-byte NAL header, emulation prevention intact). */
export function parseH264Sps(sps: Buffer): H264SpsInfo {
  if (sps.length < 4) throw bad('SPS too short');
  if ((sps[0] & 0x1f) !== 7) throw bad(`NAL type ${sps[0] & 0x1f} is not an SPS`);
  const r = new BitReader(removeEmulationPrevention(sps), 1);
  const profile = r.readBits(8);
  r.skipBits(8); // constraint_set flags + reserved_zero_2bits
  const level = r.readBits(8);
  r.readUE(); // seq_parameter_set_id
  let chromaFormat = 1;
  let separateColourPlane = false;
  let bitDepth = 8;
  if (HIGH_PROFILES.has(profile)) {
    chromaFormat = r.readUE();
    if (chromaFormat > 3) throw bad(`chroma_format_idc ${chromaFormat}`);
    if (chromaFormat === 3) separateColourPlane = r.readBool();
    bitDepth = r.readUE() + 8;
    if (bitDepth > 14) throw bad(`bit_depth_luma ${bitDepth}`);
    r.readUE(); // bit_depth_chroma_minus8
    r.skipBits(1); // qpprime_y_zero_transform_bypass_flag
    if (r.readBool()) {
      // seq_scaling_matrix_present_flag
      const lists = chromaFormat !== 3 ? 8 : 12;
      for (let i = 0; i < lists; i++) if (r.readBool()) skipScalingList(r, i < 6 ? 16 : 64);
    }
  }
  r.readUE(); // log2_max_frame_num_minus4
  const pocType = r.readUE();
  if (pocType === 0) {
    r.readUE(); // log2_max_pic_order_cnt_lsb_minus4
  } else if (pocType === 1) {
    r.skipBits(1); // delta_pic_order_always_zero_flag
    r.readSE(); // offset_for_non_ref_pic
    r.readSE(); // offset_for_top_to_bottom_field
    const cycle = r.readUE();
    if (cycle > 255) throw bad(`num_ref_frames_in_pic_order_cnt_cycle ${cycle}`);
    for (let i = 0; i < cycle; i++) r.readSE();
  } else if (pocType !== 2) {
    throw bad(`pic_order_cnt_type ${pocType}`);
  }
  r.readUE(); // max_num_ref_frames
  r.skipBits(1); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.readUE() + 1;
  const heightMapUnits = r.readUE() + 1;
  const frameMbsOnly = r.readBit();
  if (!frameMbsOnly) r.skipBits(1); // mb_adaptive_frame_field_flag
  r.skipBits(1); // direct_8x8_inference_flag
  let crop = [0, 0, 0, 0];
  if (r.readBool()) crop = [r.readUE(), r.readUE(), r.readUE(), r.readUE()];
  // Crop units: H.264 §7.4.2.1.1 (frame_crop_*_offset semantics), Table 6-1 for SubWidthC/SubHeightC.
  const chromaArrayType = separateColourPlane ? 0 : chromaFormat;
  const subW = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subH = chromaArrayType === 1 ? 2 : 1;
  const cropX = chromaArrayType === 0 ? 1 : subW;
  const cropY = (chromaArrayType === 0 ? 1 : subH) * (2 - frameMbsOnly);
  const width = widthMbs * 16 - cropX * (crop[0] + crop[1]);
  const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (crop[2] + crop[3]);
  if (width <= 0 || height <= 0 || width > 65535 || height > 65535) {
    throw bad(`implausible picture size ${width}x${height}`);
  }
  const info: H264SpsInfo = { profile, level, width, height, chromaFormat, bitDepth };
  if (r.bitsLeft() > 0 && r.readBool()) {
    // vui_parameters_present_flag (a missing flag at the very end is read as 0)
    const fps = readVuiFrameRate(r);
    if (fps !== undefined) info.frameRate = fps;
  }
  return info;
}

/**
 * vui_parameters() up to timing info (H.264 §E.1.1). A truncated VUI is common in the wild and is
 * not fatal: the frame rate is then simply unknown.
 */
function readVuiFrameRate(r: BitReader): number | undefined {
  try {
    if (r.readBool()) {
      // aspect_ratio_info_present_flag
      if (r.readBits(8) === 255) r.skipBits(32); // Extended_SAR: sar_width, sar_height
    }
    if (r.readBool()) r.skipBits(1); // overscan_info_present_flag -> overscan_appropriate_flag
    if (r.readBool()) {
      // video_signal_type_present_flag: video_format(3) full_range(1) [colour_description(24)]
      r.skipBits(4);
      if (r.readBool()) r.skipBits(24);
    }
    if (r.readBool()) {
      r.readUE(); // chroma_sample_loc_type_top_field
      r.readUE(); // chroma_sample_loc_type_bottom_field
    }
    if (!r.readBool()) return undefined; // timing_info_present_flag
    const numUnitsInTick = r.readBits(32);
    const timeScale = r.readBits(32);
    if (numUnitsInTick === 0 || timeScale === 0) return undefined;
    return timeScale / (2 * numUnitsInTick);
  } catch (err) {
    if (err instanceof TidecastError) return undefined;
    throw err;
  }
}
