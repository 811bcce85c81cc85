/**
 * Video sample entries (ISO/IEC 14496-12 §12.1.3 VisualSampleEntry) with their decoder
 * configuration box: `avc1` + `avcC` (ISO/IEC 14496-15 §5.4.2.1), `hvc1` + `hvcC` (14496-15
 * §8.4.1.1) and `av01` + `av1C` (AV1-ISOBMFF §2.2-2.3). Parameter sets travel out of band, in
 * the configuration record; the records arrive ready-made from the ingest (FLV/E-RTMP
 * SequenceStart payloads have exactly the box body layout).
 */
import { box, i16, u16, u32, zeros } from './box.js';

/** SampleEntry (§8.5.2.2) header fields: reserved 6 bytes + data_reference_index = 1 (our one `url `). */
export function sampleEntryHeader(): Buffer {
  return Buffer.concat([zeros(6), u16(1)]);
}

/** VisualSampleEntry(codingname) (§12.1.3.2) followed by its child boxes (decoder configuration, …). */
export function visualSampleEntry(
  codingName: string,
  width: number,
  height: number,
  ...children: Buffer[]
): Buffer {
  const compressorName = zeros(32); // string[32]: length byte 0, no name
  return box(
    codingName,
    sampleEntryHeader(),
    u16(0), // pre_defined
    u16(0), // reserved
    zeros(12), // pre_defined unsigned int(32)[3]
    u16(width),
    u16(height),
    u32(0x00480000), // horizresolution 72 dpi (16.16)
    u32(0x00480000), // vertresolution 72 dpi
    u32(0), // reserved
    u16(1), // frame_count: one frame per sample
    compressorName,
    u16(0x0018), // depth: colour, no alpha
    i16(-1), // pre_defined
    ...children,
  );
}

/** AVCConfigurationBox (14496-15 §5.4.2.1.2): AVCDecoderConfigurationRecord body. */
export function avcC(record: Buffer): Buffer {
  return box('avcC', record);
}

/** HEVC NAL unit types whose arrays are parameter sets (H.265 Table 7-1): VPS 32, SPS 33, PPS 34. */
const HEVC_PARAMETER_SET_TYPES = new Set([32, 33, 34]);

/**
 * A copy of an HEVCDecoderConfigurationRecord (14496-15 §8.3.3.1) with array_completeness = 1 on its
 * VPS/SPS/PPS arrays, as §8.4.1.1.2 requires for the `hvc1` sample entry (all parameter sets out of
 * band). Encoders often leave the bit clear in the RTMP sequence header. A record too short to walk is
 * returned unchanged.
 */
export function hvcCForHvc1(record: Buffer): Buffer {
  const out = Buffer.from(record);
  if (out.length < 23) return out;
  let off = 23;
  for (let a = 0, arrays = out[22]; a < arrays; a++) {
    if (off + 3 > out.length) break;
    if (HEVC_PARAMETER_SET_TYPES.has(out[off] & 0x3f)) out[off] |= 0x80; // array_completeness
    const count = out.readUInt16BE(off + 1);
    off += 3;
    for (let i = 0; i < count && off + 2 <= out.length; i++) off += 2 + out.readUInt16BE(off);
  }
  return out;
}

/** HEVCConfigurationBox (14496-15 §8.4.1.1.2). */
export function hvcC(record: Buffer): Buffer {
  return box('hvcC', hvcCForHvc1(record));
}

/** AV1CodecConfigurationBox (AV1-ISOBMFF §2.3.2): AV1CodecConfigurationRecord body (marker 1, version 1, …). */
export function av1C(record: Buffer): Buffer {
  return box('av1C', record);
}

/** `avc1` sample entry (14496-15 §5.4.2.1): SPS/PPS only in avcC. */
export function avc1(width: number, height: number, record: Buffer): Buffer {
  return visualSampleEntry('avc1', width, height, avcC(record));
}

/** `hvc1` sample entry (14496-15 §8.4.1.1): parameter sets in hvcC (Safari requires hvc1, not hev1). */
export function hvc1(width: number, height: number, record: Buffer): Buffer {
  return visualSampleEntry('hvc1', width, height, hvcC(record));
}

/** `av01` sample entry (AV1-ISOBMFF §2.2.1): the sequence header OBU rides in av1C's configOBUs. */
export function av01(width: number, height: number, record: Buffer): Buffer {
  return visualSampleEntry('av01', width, height, av1C(record));
}
