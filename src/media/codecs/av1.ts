/**
 * AV1: AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3.3, the `av1C` box body and the E-RTMP `av01`
 * SequenceStart payload) and the sequence header OBU it may carry (AV1 spec §5.5.1).
 */
import { TidecastError } from '../../errors.js';
import { BitReader } from '../bits/bit-reader.js';

export interface Av1Config {
  /** seq_profile: 0 Main, 1 High, 2 Professional. */
  profile: number;
  /** seq_level_idx_0 (level = 2 + (idx >> 2) + "." + (idx & 3)). */
  level: number;
  /** seq_tier_0. */
  tier: number;
  /** 8, 10 or 12. */
  bitDepth: number;
  monochrome: boolean;
  chromaSubsamplingX: number;
  chromaSubsamplingY: number;
  chromaSamplePosition: number;
  /** configOBUs (usually one sequence header OBU, possibly empty). */
  configObus: Buffer;
  /** From the sequence header OBU in configOBUs (max_frame_width/height), when present. */
  width?: number;
  height?: number;
  /** From the sequence header's timing_info when equal_picture_interval is set. */
  frameRate?: number;
}

const OBU_SEQUENCE_HEADER = 1;

function bad(msg: string): TidecastError {
  return new TidecastError('CODEC_BAD_CONFIG', `av1C: ${msg}`);
}

/** Parses an AV1CodecConfigurationRecord (AV1-ISOBMFF §2.3.3). */
export function parseAv1Config(av1C: Buffer): Av1Config {
  if (av1C.length < 4) throw bad(`record too short (${av1C.length} bytes)`);
  if (av1C[0] !== 0x81) throw bad(`bad marker/version byte 0x${av1C[0].toString(16)}`);
  const b2 = av1C[2];
  const highBitdepth = (b2 >> 6) & 1;
  const twelveBit = (b2 >> 5) & 1;
  const cfg: Av1Config = {
    profile: av1C[1] >> 5,
    level: av1C[1] & 0x1f,
    tier: b2 >> 7,
    bitDepth: highBitdepth ? (twelveBit ? 12 : 10) : 8,
    monochrome: ((b2 >> 4) & 1) === 1,
    chromaSubsamplingX: (b2 >> 3) & 1,
    chromaSubsamplingY: (b2 >> 2) & 1,
    chromaSamplePosition: b2 & 0x03,
    configObus: av1C.subarray(4),
  };
  try {
    const seq = findSequenceHeader(cfg.configObus);
    if (seq) {
      const info = parseSequenceHeaderObu(seq);
      cfg.width = info.width;
      cfg.height = info.height;
      if (info.frameRate !== undefined) cfg.frameRate = info.frameRate;
    }
  } catch (err) {
    if (!(err instanceof TidecastError)) throw err;
    // configOBUs are informative (AV1-ISOBMFF §2.3.4): a damaged one leaves the size unknown.
  }
  return cfg;
}

/** leb128() (AV1 §4.10.5), at most 8 bytes. */
function readLeb128(buf: Buffer, off: number): { value: number; next: number } {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    if (off + i >= buf.length) throw bad('truncated leb128');
    const byte = buf[off + i];
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { value, next: off + i + 1 };
  }
  throw bad('leb128 longer than 8 bytes');
}

/** Walks an OBU sequence (AV1 §5.3.1) and returns the first sequence header's payload. */
export function findSequenceHeader(obus: Buffer): Buffer | undefined {
  let off = 0;
  while (off < obus.length) {
    const header = obus[off];
    if (header & 0x80) throw bad('obu_forbidden_bit set');
    const type = (header >> 3) & 0x0f;
    const hasExtension = (header >> 2) & 1;
    const hasSize = (header >> 1) & 1;
    let p = off + 1 + hasExtension;
    let end = obus.length;
    if (hasSize) {
      const leb = readLeb128(obus, p);
      p = leb.next;
      end = p + leb.value;
    }
    if (p > obus.length || end > obus.length) throw bad('truncated OBU');
    if (type === OBU_SEQUENCE_HEADER) return obus.subarray(p, end);
    off = end;
  }
  return undefined;
}

/** uvlc() (AV1 §4.10.3). */
function readUvlc(r: BitReader): number {
  let leadingZeros = 0;
  while (r.readBit() === 0) {
    leadingZeros++;
    if (leadingZeros >= 32) return 2 ** 32 - 1;
  }
  return leadingZeros === 0 ? 0 : 2 ** leadingZeros - 1 + r.readBits(leadingZeros);
}

/** sequence_header_obu() (AV1 §5.5.1) up to max_frame_height_minus_1. */
export function parseSequenceHeaderObu(payload: Buffer): {
  width: number;
  height: number;
  frameRate?: number;
} {
  const r = new BitReader(payload);
  r.skipBits(3); // seq_profile
  r.skipBits(1); // still_picture
  const reducedStillPictureHeader = r.readBool();
  let frameRate: number | undefined;
  if (reducedStillPictureHeader) {
    r.skipBits(5); // seq_level_idx[0]
  } else {
    let bufferDelayLengthMinus1 = 0;
    let decoderModelInfoPresent = false;
    if (r.readBool()) {
      // timing_info() §5.5.3
      const numUnitsInDisplayTick = r.readBits(32);
      const timeScale = r.readBits(32);
      if (r.readBool()) {
        // equal_picture_interval
        const ticksPerPicture = readUvlc(r) + 1;
        if (numUnitsInDisplayTick > 0) frameRate = timeScale / (numUnitsInDisplayTick * ticksPerPicture);
      }
      decoderModelInfoPresent = r.readBool();
      if (decoderModelInfoPresent) {
        // decoder_model_info() §5.5.4
        bufferDelayLengthMinus1 = r.readBits(5);
        r.skipBits(32 + 5 + 5);
      }
    }
    const initialDisplayDelayPresent = r.readBool();
    const operatingPoints = r.readBits(5) + 1;
    for (let i = 0; i < operatingPoints; i++) {
      r.skipBits(12); // operating_point_idc
      if (r.readBits(5) > 7) r.skipBits(1); // seq_level_idx -> seq_tier
      if (decoderModelInfoPresent && r.readBool()) {
        // operating_parameters_info() §5.5.5
        r.skipBits(2 * (bufferDelayLengthMinus1 + 1) + 1);
      }
      if (initialDisplayDelayPresent && r.readBool()) r.skipBits(4);
    }
  }
  const widthBits = r.readBits(4) + 1;
  const heightBits = r.readBits(4) + 1;
  const width = r.readBits(widthBits) + 1;
  const height = r.readBits(heightBits) + 1;
  return frameRate === undefined ? { width, height } : { width, height, frameRate };
}

/**
 * Codec string per AV1-ISOBMFF "Codecs Parameter String": `av01.P.LLT.DD`, e.g. `av01.0.08M.10`.
 */
export function av1CodecString(cfg: Pick<Av1Config, 'profile' | 'level' | 'tier' | 'bitDepth'>): string {
  const level = String(cfg.level).padStart(2, '0');
  return `av01.${cfg.profile}.${level}${cfg.tier ? 'H' : 'M'}.${String(cfg.bitDepth).padStart(2, '0')}`;
}
