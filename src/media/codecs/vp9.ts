/**
 * VP8/VP9: VPCodecConfigurationRecord (VP Codec ISO-BMFF Binding v1.0 §2.3.3, the `vpcC` box body),
 * the E-RTMP `vp09`/`vp08` SequenceStart payload. Writers differ on whether the 4-byte FullBox
 * version/flags precede the record, so both forms are accepted.
 */
import { TidecastError } from '../../errors.js';

export interface VpcConfig {
  profile: number;
  /** level (e.g. 21 = level 2.1; 0 = unspecified in some writers). */
  level: number;
  bitDepth: number;
  /** 0 4:2:0 vertical, 1 4:2:0 colocated, 2 4:2:2, 3 4:4:4. */
  chromaSubsampling: number;
  fullRange: boolean;
  colourPrimaries: number;
  transferCharacteristics: number;
  matrixCoefficients: number;
}

function bad(msg: string): TidecastError {
  return new TidecastError('CODEC_BAD_CONFIG', `vpcC: ${msg}`);
}

export function parseVpcC(buf: Buffer): VpcConfig {
  let off = 0;
  // A FullBox header (version 1, flags 0) reads as profile 1, level 0, bit depth 0, which is not a
  // valid record (bitDepth is 8, 10 or 12), so the two forms cannot be confused.
  if (buf.length >= 12 && buf[0] === 1 && buf[1] === 0 && buf[2] === 0 && buf[3] === 0) off = 4;
  if (buf.length < off + 8) throw bad(`record too short (${buf.length} bytes)`);
  const b = buf[off + 2];
  const bitDepth = b >> 4;
  if (bitDepth !== 8 && bitDepth !== 10 && bitDepth !== 12) throw bad(`bitDepth ${bitDepth}`);
  return {
    profile: buf[off],
    level: buf[off + 1],
    bitDepth,
    chromaSubsampling: (b >> 1) & 0x07,
    fullRange: (b & 1) === 1,
    colourPrimaries: buf[off + 3],
    transferCharacteristics: buf[off + 4],
    matrixCoefficients: buf[off + 5],
  };
}

/** Short codec string `vp09.PP.LL.DD` (VP Codec ISO-BMFF Binding §3). */
export function vp9CodecString(cfg: Pick<VpcConfig, 'profile' | 'level' | 'bitDepth'>): string {
  const two = (n: number) => String(n).padStart(2, '0');
  return `vp09.${two(cfg.profile)}.${two(cfg.level)}.${two(cfg.bitDepth)}`;
}
