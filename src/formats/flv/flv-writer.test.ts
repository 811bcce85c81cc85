import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { encodeFlvTag, flvHeader } from './flv-writer.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('flvHeader', () => {
  it('writes the 9-byte header with A/V flags plus PreviousTagSize0', () => {
    expect(flvHeader({ audio: true, video: true })).toEqual(hex('464c5601 05 00000009 00000000'));
    expect(flvHeader({ audio: true, video: false })).toEqual(hex('464c5601 04 00000009 00000000'));
    expect(flvHeader({ audio: false, video: true })).toEqual(hex('464c5601 01 00000009 00000000'));
    expect(flvHeader({ audio: false, video: false })).toEqual(hex('464c5601 00 00000009 00000000'));
  });
});

describe('encodeFlvTag', () => {
  it('writes header, body and PreviousTagSize', () => {
    expect(encodeFlvTag(9, 0x12345678, hex('1701000000aabb'))).toEqual(
      hex('09 000007 345678 12 000000 1701000000aabb 00000012'),
    );
    expect(encodeFlvTag(8, 0, Buffer.alloc(0))).toEqual(hex('08 000000 000000 00 000000 0000000b'));
  });

  it('takes timestamps modulo 2^32', () => {
    expect(encodeFlvTag(18, 2 ** 32 + 5, Buffer.alloc(0)).subarray(4, 8)).toEqual(hex('00000500'));
    expect(encodeFlvTag(18, -1, Buffer.alloc(0)).subarray(4, 8)).toEqual(hex('ffffffff'));
  });

  it('rejects bodies over the 24-bit DataSize', () => {
    try {
      encodeFlvTag(9, 0, Buffer.alloc(0x1000000));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(TidecastError);
      expect((err as TidecastError).code).toBe('FLV_TAG_TOO_LARGE');
    }
  });
});
