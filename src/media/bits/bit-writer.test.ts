import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { BitWriter } from './bit-writer.js';

describe('BitWriter', () => {
  it('packs MSB-first and zero-pads the last byte', () => {
    const w = new BitWriter().writeBits(3, 0b101).writeBits(7, 0b0010111).writeBit(true);
    expect(w.bitLength).toBe(11);
    expect(w.toBuffer()).toEqual(Buffer.from([0xa5, 0xe0]));
  });

  it('writes 32-bit fields and Exp-Golomb codes', () => {
    expect(new BitWriter().writeBits(32, 0xdeadbeef).toBuffer()).toEqual(Buffer.from('deadbeef', 'hex'));
    // ue: 0 -> 1, 3 -> 00100; se: -1 -> 011
    expect(new BitWriter().writeUE(0).writeUE(3).writeSE(-1).toBuffer()).toEqual(
      Buffer.from([0b10010001, 0b10000000]),
    );
    expect(new BitWriter().toBuffer().length).toBe(0);
  });

  it('rejects out-of-range arguments with CODEC_BAD_CONFIG', () => {
    expect(() => new BitWriter().writeBits(33, 0)).toThrow(TidecastError);
    expect(() => new BitWriter().writeUE(-1)).toThrow(TidecastError);
    expect(() => new BitWriter().writeUE(2 ** 32 - 1)).toThrow(TidecastError);
  });
});
