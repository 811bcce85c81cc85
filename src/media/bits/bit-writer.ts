/**
 * MSB-first bit writer, the inverse of BitReader: fixed-width fields and Exp-Golomb codes
 * (H.264 §9.1). Used to build headers (e.g. ADTS, ISO/IEC 14496-3 §1.A.2.2) and test bitstreams.
 */
import { TidecastError } from '../../errors.js';

export class BitWriter {
  private bytes: number[] = [];
  private cur = 0;
  private nbits = 0;

  /** Appends the low `n` (0..32) bits of `value`, most significant first. */
  writeBits(n: number, value: number): this {
    if (!Number.isInteger(n) || n < 0 || n > 32) {
      throw new TidecastError('CODEC_BAD_CONFIG', `writeBits(${n}): width must be 0..32`);
    }
    for (let i = n - 1; i >= 0; i--) {
      const bit = Math.floor(value / 2 ** i) & 1;
      this.cur = (this.cur << 1) | bit;
      if (++this.nbits === 8) {
        this.bytes.push(this.cur);
        this.cur = 0;
        this.nbits = 0;
      }
    }
    return this;
  }

  writeBit(bit: number | boolean): this {
    return this.writeBits(1, bit ? 1 : 0);
  }

  /** ue(v): unsigned Exp-Golomb, 0 <= value <= 2^32 - 2. */
  writeUE(value: number): this {
    if (!Number.isInteger(value) || value < 0 || value > 2 ** 32 - 2) {
      throw new TidecastError('CODEC_BAD_CONFIG', `writeUE(${value}) out of range`);
    }
    const v = value + 1;
    const len = Math.floor(Math.log2(v));
    this.writeBits(len, 0);
    // v has len + 1 significant bits; write the leading 1 then the rest (may exceed 32 bits total).
    this.writeBits(1, 1);
    return this.writeBits(len, v - 2 ** len);
  }

  /** se(v): signed Exp-Golomb (H.264 §9.1.1). */
  writeSE(value: number): this {
    return this.writeUE(value > 0 ? 2 * value - 1 : -2 * value);
  }

  /** Bits written so far. */
  get bitLength(): number {
    return this.bytes.length * 8 + this.nbits;
  }

  /** The written bits, zero-padded to a whole byte. */
  toBuffer(): Buffer {
    const out = Buffer.alloc(this.bytes.length + (this.nbits > 0 ? 1 : 0));
    out.set(this.bytes);
    if (this.nbits > 0) out[this.bytes.length] = (this.cur << (8 - this.nbits)) & 0xff;
    return out;
  }
}
