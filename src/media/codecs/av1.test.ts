import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { av1CodecString, findSequenceHeader, parseAv1Config } from './av1.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** av1C from `ffmpeg -f lavfi -i testsrc2=size=1920x1080 -c:v libsvtav1 -pix_fmt yuv420p10le x.mp4`. */
const AV1C_1080P_10BIT = hex('81084c000a0b00000042abbfc3700be101');
/** av1C of the Veovera testsrc.flv vector (High profile 4:4:4, 980x540). */
const AV1C_VEOVERA_TESTSRC = hex('812400000a0e20000024cfa70dbfff3404340080');

function expectOnlyTidecastError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof TidecastError)) throw err;
    expect(err.code).toBe('CODEC_BAD_CONFIG');
  }
}

describe('parseAv1Config', () => {
  it('parses SVT-AV1 Main 10-bit 4:2:0 with the sequence header size', () => {
    const cfg = parseAv1Config(AV1C_1080P_10BIT);
    expect(cfg).toMatchObject({
      profile: 0,
      level: 8,
      tier: 0,
      bitDepth: 10,
      monochrome: false,
      chromaSubsamplingX: 1,
      chromaSubsamplingY: 1,
      width: 1920,
      height: 1080,
    });
    expect(av1CodecString(cfg)).toBe('av01.0.08M.10');
  });

  it('parses the Veovera vector record (High profile, 4:4:4)', () => {
    const cfg = parseAv1Config(AV1C_VEOVERA_TESTSRC);
    expect(cfg).toMatchObject({
      profile: 1,
      level: 4,
      bitDepth: 8,
      chromaSubsamplingX: 0,
      width: 980,
      height: 540,
    });
  });

  it('accepts a record without configOBUs and skips non-sequence-header OBUs', () => {
    const bare = parseAv1Config(hex('81084c00'));
    expect(bare.width).toBeUndefined();
    expect(bare.configObus.length).toBe(0);
    // temporal delimiter (type 2, size 0) before the sequence header
    const withTd = Buffer.concat([hex('81084c00 1200'), AV1C_1080P_10BIT.subarray(4)]);
    expect(parseAv1Config(withTd)).toMatchObject({ width: 1920, height: 1080 });
    expect(findSequenceHeader(hex('1200'))).toBeUndefined();
  });

  it('rejects a bad marker or short record', () => {
    expect(() => parseAv1Config(hex('01084c00'))).toThrow(/marker/);
    expect(() => parseAv1Config(hex('8108'))).toThrow(TidecastError);
  });

  it('truncation and mutation throw only CODEC_BAD_CONFIG', () => {
    for (const f of [AV1C_1080P_10BIT, AV1C_VEOVERA_TESTSRC]) {
      for (let n = 0; n <= f.length; n++) expectOnlyTidecastError(() => parseAv1Config(f.subarray(0, n)));
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 48 }), (bytes) => {
        expectOnlyTidecastError(() => parseAv1Config(Buffer.from([0x81, ...bytes])));
        expectOnlyTidecastError(() => findSequenceHeader(Buffer.from(bytes)));
      }),
      { numRuns: 3000 },
    );
  });
});
