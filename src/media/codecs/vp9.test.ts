import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { parseVpcC, vp9CodecString } from './vp9.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** vpcC box body (FullBox version 1 + record) from `ffmpeg ... -c:v libvpx-vp9 x.mp4`, 640x360 8-bit 4:2:0. */
const VPCC_FULLBOX = hex('01000000 00 15 82 02 02 02 0000');

describe('parseVpcC', () => {
  it('parses the record with or without the FullBox header', () => {
    const expected = {
      profile: 0,
      level: 21,
      bitDepth: 8,
      chromaSubsampling: 1,
      fullRange: false,
      colourPrimaries: 2,
      transferCharacteristics: 2,
      matrixCoefficients: 2,
    };
    expect(parseVpcC(VPCC_FULLBOX)).toEqual(expected);
    expect(parseVpcC(VPCC_FULLBOX.subarray(4))).toEqual(expected);
    expect(parseVpcC(hex('02 1f a7 09 10 09 0000'))).toMatchObject({
      profile: 2,
      bitDepth: 10,
      fullRange: true,
    });
    expect(vp9CodecString(parseVpcC(VPCC_FULLBOX))).toBe('vp09.00.21.08');
  });

  it('rejects short records and impossible bit depths', () => {
    expect(() => parseVpcC(hex('001582020202'))).toThrow(TidecastError);
    expect(() => parseVpcC(hex('00 15 32 02 02 02 0000'))).toThrow(/bitDepth/);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 20 }), (bytes) => {
        try {
          parseVpcC(Buffer.from(bytes));
        } catch (err) {
          expect(err).toBeInstanceOf(TidecastError);
        }
      }),
    );
  });
});
