import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { parseAudioSpecificConfig } from '../../media/codecs/aac.js';
import { ADTS_HEADER_SIZE, adtsHeader } from './adts.js';

/** Reads the ADTS fixed + variable header fields (ISO/IEC 14496-3 §1.A.2.2) back from 7 bytes. */
function readAdts(b: Buffer) {
  let bits = 0n;
  for (const x of b.subarray(0, 7)) bits = (bits << 8n) | BigInt(x);
  let pos = 56;
  const take = (n: number) => {
    pos -= n;
    return Number((bits >> BigInt(pos)) & ((1n << BigInt(n)) - 1n));
  };
  return {
    syncword: take(12),
    id: take(1),
    layer: take(2),
    protectionAbsent: take(1),
    profile: take(2),
    samplingIndex: take(4),
    privateBit: take(1),
    channelConfig: take(3),
    originalCopy: take(1),
    home: take(1),
    copyrightIdBit: take(1),
    copyrightIdStart: take(1),
    frameLength: take(13),
    bufferFullness: take(11),
    rawBlocks: take(2),
  };
}

describe('adtsHeader', () => {
  it('writes AAC-LC 48 kHz stereo (ASC 11 90)', () => {
    const asc = parseAudioSpecificConfig(Buffer.from([0x11, 0x90]));
    const h = adtsHeader(asc, 100);
    expect(h.toString('hex')).toBe('fff14c800d7ffc');
    expect(readAdts(h)).toEqual({
      syncword: 0xfff,
      id: 0,
      layer: 0,
      protectionAbsent: 1,
      profile: 1, // LC = objectType 2 - 1
      samplingIndex: 3, // 48000
      privateBit: 0,
      channelConfig: 2,
      originalCopy: 0,
      home: 0,
      copyrightIdBit: 0,
      copyrightIdStart: 0,
      frameLength: 107,
      bufferFullness: 0x7ff,
      rawBlocks: 0,
    });
  });

  it('describes HE-AAC v1/v2 by its LC core (half rate, core channels)', () => {
    // HE-AAC 48 kHz stereo (explicit SBR): core 24 kHz = index 6, LC.
    const he = readAdts(adtsHeader(parseAudioSpecificConfig(Buffer.from('2b118800', 'hex')), 10));
    expect(he).toMatchObject({ profile: 1, samplingIndex: 6, channelConfig: 2 });
    // HE-AAC v2 48 kHz: mono 24 kHz core with PS.
    const v2 = readAdts(adtsHeader(parseAudioSpecificConfig(Buffer.from('eb098800', 'hex')), 10));
    expect(v2).toMatchObject({ profile: 1, samplingIndex: 6, channelConfig: 1 });
  });

  it('writes into a caller buffer and uses the full 13-bit length', () => {
    const out = Buffer.alloc(20, 0xaa);
    adtsHeader({ objectType: 2, samplingIndex: 4, channelConfig: 1 }, 8191 - 7, out, 5);
    expect(out[4]).toBe(0xaa);
    expect(out[12]).toBe(0xaa);
    expect(readAdts(out.subarray(5))).toMatchObject({
      frameLength: 8191,
      samplingIndex: 4,
      channelConfig: 1,
    });
  });

  it('rejects what ADTS cannot express with CODEC_BAD_CONFIG', () => {
    const lc = { objectType: 2, samplingIndex: 3, channelConfig: 2 };
    for (const [info, len] of [
      [lc, 8191 - ADTS_HEADER_SIZE + 1],
      [{ ...lc, objectType: 23 }, 10], // ER AAC LD
      [{ ...lc, samplingIndex: 15 }, 10],
    ] as const) {
      expect(() => adtsHeader(info, len)).toThrow(TidecastError);
      try {
        adtsHeader(info, len);
      } catch (err) {
        expect((err as TidecastError).code).toBe('CODEC_BAD_CONFIG');
      }
    }
  });
});
