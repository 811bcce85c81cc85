import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { hevcCodecString, parseHevcDecoderConfig, parseHevcSpsSize } from './hevc.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/**
 * hvcC from `ffmpeg -f lavfi -i testsrc2=size=1920x1080:rate=25 -c:v libx265 -tag:v hvc1 x.mp4`
 * (Main@L4, 1920x1080) with its 2.3 KB x265 SEI array dropped (numOfArrays 4 -> 3).
 */
const HVCC_1080P = hex(
  `01016000000090000000000078f000fcfdf8f800000f03
   a00001001840010c01ffff016000000300900000030000030078959809
   a10001002a420101016000000300900000030000030078a003c08010e596566924caf0168080000003008000000c84a2
   000100074401c172b46240`,
);

function expectOnlyTidecastError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof TidecastError)) throw err;
    expect(err.code).toBe('CODEC_BAD_CONFIG');
  }
}

describe('parseHevcDecoderConfig', () => {
  it('parses an x265 record including the SPS picture size', () => {
    const cfg = parseHevcDecoderConfig(HVCC_1080P);
    expect(cfg).toMatchObject({
      profileSpace: 0,
      profile: 1,
      tier: 0,
      level: 120,
      compatibilityFlags: 0x60000000,
      nalLengthSize: 4,
      chromaFormat: 1,
      bitDepth: 8,
      width: 1920,
      height: 1080,
    });
    expect(cfg.vps).toHaveLength(1);
    expect(cfg.sps).toHaveLength(1);
    expect(cfg.pps).toEqual([hex('4401c172b46240')]);
    expect(hevcCodecString(cfg)).toBe('hvc1.1.6.L120.90');
  });

  it('leaves the size undefined when the SPS is damaged, and rejects a damaged record', () => {
    const broken = Buffer.from(HVCC_1080P);
    broken.fill(0xff, 60, 80); // inside the SPS (which spans bytes 57..98)
    const cfg = parseHevcDecoderConfig(broken);
    expect(cfg.sps).toHaveLength(1);
    expect(cfg.width).toBeUndefined();
    expect(() => parseHevcDecoderConfig(hex('00'.repeat(23)))).toThrow(/configurationVersion/);
    expect(() => parseHevcDecoderConfig(HVCC_1080P.subarray(0, 40))).toThrow(/truncated/);
    expect(() => parseHevcSpsSize(hex('4401c172b46240'))).toThrow(/not an SPS/);
  });

  it('truncation and mutation throw only CODEC_BAD_CONFIG', () => {
    for (let n = 0; n <= HVCC_1080P.length; n++) {
      expectOnlyTidecastError(() => parseHevcDecoderConfig(HVCC_1080P.subarray(0, n)));
    }
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        (edits) => {
          const m = Buffer.from(HVCC_1080P);
          for (const [i, v] of edits) m[i % m.length] = v;
          expectOnlyTidecastError(() => parseHevcDecoderConfig(m));
        },
      ),
      { numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expectOnlyTidecastError(() => parseHevcDecoderConfig(Buffer.from([1, ...bytes])));
        expectOnlyTidecastError(() => parseHevcSpsSize(Buffer.from([0x42, 0x01, ...bytes])));
      }),
      { numRuns: 2000 },
    );
  });
});
