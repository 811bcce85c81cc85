import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32Mpeg2 } from './crc32.js';
import { patSection, pmtSection, StreamType } from './psi.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('crc32Mpeg2 (CRC-32/MPEG-2)', () => {
  it('matches the catalogue check value for "123456789"', () => {
    expect(crc32Mpeg2(Buffer.from('123456789'))).toBe(0x0376e6e7);
  });

  it('matches the CRC ffmpeg writes in a single-program PAT (program 1 -> PMT PID 0x1000)', () => {
    // ffmpeg -f mpegts, second packet: pointer 00, then this section, CRC 2a b1 04 b2.
    const pat = hex('00b00d0001c100000001f000 2ab104b2');
    expect(crc32Mpeg2(pat, 0, pat.length - 4)).toBe(0x2ab104b2);
    expect(patSection(0x1000)).toEqual(pat);
  });

  it('matches ffmpeg PMT bytes for H.264 (0x100, PCR) + AAC (0x101)', () => {
    const pmt = hex('02b0170001c10000e100f0001be100f0000fe101f000 2f44b99b');
    expect(
      pmtSection(0x100, [
        { streamType: StreamType.H264, pid: 0x100 },
        { streamType: StreamType.AAC_ADTS, pid: 0x101 },
      ]),
    ).toEqual(pmt);
  });

  it('gives 0 over any message followed by its own CRC (Annex A property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const b = Buffer.alloc(bytes.length + 4);
        b.set(bytes);
        b.writeUInt32BE(crc32Mpeg2(b, 0, bytes.length), bytes.length);
        expect(crc32Mpeg2(b)).toBe(0);
      }),
    );
  });
});
