/**
 * MSB-first bit reader for codec headers (H.264/H.265 RBSP, AAC AudioSpecificConfig, AV1 OBUs).
 *
 * Every read is bounds-checked: running past the end throws CODEC_BAD_CONFIG, so callers parsing
 * untrusted configuration records never see a RangeError or a silently wrong value.
 */
import { TidecastError } from '../../errors.js';

export class BitReader {
  private readonly buf: Buffer;
  /** Absolute bit position from the start of `buf`. */
  private pos = 0;
  private readonly totalBits: number;

  constructor(buf: Buffer, byteOffset = 0) {
    this.buf = buf;
    this.totalBits = buf.length * 8;
    if (byteOffset < 0 || byteOffset > buf.length) throw overrun();
    this.pos = byteOffset * 8;
  }

  /** Bits not yet consumed. */
  bitsLeft(): number {
    return this.totalBits - this.pos;
  }

  /** Current position in bits from the start of the buffer. */
  get bitPosition(): number {
    return this.pos;
  }

  /** Reads `n` (0..32) bits as an unsigned integer. */
  readBits(n: number): number {
    if (!Number.isInteger(n) || n < 0 || n > 32) {
      throw new TidecastError('CODEC_BAD_CONFIG', `readBits(${n}): width must be 0..32`);
    }
    if (n > this.bitsLeft()) throw overrun();
    let value = 0;
    let remaining = n;
    while (remaining > 0) {
      const byte = this.buf[this.pos >>> 3];
      const bitInByte = this.pos & 7;
      const avail = 8 - bitInByte;
      const take = Math.min(remaining, avail);
      const bits = (byte >>> (avail - take)) & ((1 << take) - 1);
      // Multiply instead of shifting so 32-bit results stay unsigned.
      value = value * (1 << take) + bits;
      remaining -= take;
      this.pos += take;
    }
    return value;
  }

  readBit(): number {
    if (this.pos >= this.totalBits) throw overrun();
    const bit = (this.buf[this.pos >>> 3] >>> (7 - (this.pos & 7))) & 1;
    this.pos++;
    return bit;
  }

  readBool(): boolean {
    return this.readBit() === 1;
  }

  /** Skips `n` bits (any non-negative count). */
  skipBits(n: number): void {
    if (!Number.isInteger(n) || n < 0) {
      throw new TidecastError('CODEC_BAD_CONFIG', `skipBits(${n}): bad count`);
    }
    if (n > this.bitsLeft()) throw overrun();
    this.pos += n;
  }

  /** Advances to the next byte boundary (no-op when already aligned). */
  byteAlign(): void {
    const rem = this.pos & 7;
    if (rem !== 0) this.skipBits(8 - rem);
  }

  /**
   * Unsigned Exp-Golomb code ue(v) (H.264 §9.1 / H.265 §9.2). Values need at most 31 leading
   * zeros (2^32 - 2); longer prefixes are invalid streams and throw.
   */
  readUE(): number {
    let leadingZeros = 0;
    while (this.readBit() === 0) {
      leadingZeros++;
      if (leadingZeros > 31) {
        throw new TidecastError('CODEC_BAD_CONFIG', 'Exp-Golomb code longer than 32 bits');
      }
    }
    if (leadingZeros === 0) return 0;
    return 2 ** leadingZeros - 1 + this.readBits(leadingZeros);
  }

  /** Signed Exp-Golomb code se(v) (H.264 §9.1.1): k -> (-1)^(k+1) * ceil(k/2). */
  readSE(): number {
    const k = this.readUE();
    const magnitude = Math.ceil(k / 2);
    return k % 2 === 1 ? magnitude : 0 - magnitude; // 0 - 0 avoids returning -0
  }
}

function overrun(): TidecastError {
  return new TidecastError('CODEC_BAD_CONFIG', 'bitstream truncated (read past end)');
}

/**
 * Converts a NAL unit (EBSP) to its RBSP by dropping emulation-prevention bytes: every 0x03 that
 * follows two zero bytes (H.264 §7.4.1, H.265 §7.4.2). Returns the input itself when there is none.
 */
export function removeEmulationPrevention(nal: Buffer): Buffer {
  let first = -1;
  for (let i = 2; i < nal.length; i++) {
    if (nal[i] === 0x03 && nal[i - 1] === 0 && nal[i - 2] === 0) {
      first = i;
      break;
    }
  }
  if (first < 0) return nal;
  const out = Buffer.allocUnsafe(nal.length);
  nal.copy(out, 0, 0, first);
  let o = first;
  let zeros = 0;
  for (let i = first + 1; i < nal.length; i++) {
    const b = nal[i];
    if (zeros >= 2 && b === 0x03) {
      zeros = 0;
      continue;
    }
    out[o++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, o);
}
