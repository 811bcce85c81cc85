import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { BitWriter } from '../bits/bit-writer.js';
import { avcCodecString, parseAvcDecoderConfig, parseH264Sps } from './h264.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** avcC from `ffmpeg -f lavfi -i testsrc2=size=1280x720:rate=30 -c:v libx264 -profile:v high -level 3.1 -f flv`. */
const AVCC_720P30 = hex(
  '0164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000668ebe3cb22c0fdf8f800',
);
/** libx264 -profile:v baseline, 640x360 @ 25 (height cropped from 368). */
const AVCC_BASELINE_360P = hex(
  '0142c01effe100196742c01ed900a02ff97011000003000100000300320f162e4801000568cb83cb20',
);
/** libx264 yuv444p, 1920x1080 @ 60000/1001 (High 4:4:4 Predictive, profile 244). */
const AVCC_444_1080P = hex(
  '01f4002affe1001a67f4002a919b280f0044fc4e022000007d20003a9801e30632c001000868ebe3c44c000440fff8f800',
);
/** libx264 interlaced=1, yuv422p10le, 720x576 @ 25 (High 4:2:2, frame_mbs_only_flag = 0). */
const AVCC_422_10BIT_INTERLACED = hex(
  '017a001effe1001a677a001eb6cd940b424d808800000300080000030190f8a14cb001000668fba3cb22c0fefafa00',
);

function expectOnlyTidecastError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof TidecastError)) throw err;
    expect(err.code).toBe('CODEC_BAD_CONFIG');
  }
}

function addEmulationPrevention(rbsp: Buffer): Buffer {
  const out: number[] = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}

/** High-profile SPS with scaling lists, POC type 1, cropping and full VUI (H.264 §7.3.2.1.1, §E.1.1). */
function syntheticSps(): Buffer {
  const w = new BitWriter().writeBits(8, 0x67).writeBits(8, 100).writeBits(8, 0).writeBits(8, 40);
  w.writeUE(0).writeUE(1).writeUE(0).writeUE(0).writeBit(0); // sps id, 4:2:0, 8-bit, bypass
  w.writeBit(1); // seq_scaling_matrix_present_flag
  for (let i = 0; i < 8; i++) {
    if (i === 0) {
      w.writeBit(1);
      for (let j = 0; j < 16; j++) w.writeSE(j === 0 ? 8 : 1); // 4x4 list, all explicit
    } else if (i === 6) {
      w.writeBit(1).writeSE(-8); // 8x8 list: nextScale 0 -> default, one delta only
    } else {
      w.writeBit(0);
    }
  }
  w.writeUE(0).writeUE(1); // log2_max_frame_num_minus4, pic_order_cnt_type 1
  w.writeBit(0).writeSE(-2).writeSE(1).writeUE(2).writeSE(5).writeSE(-5);
  w.writeUE(4).writeBit(0); // max_num_ref_frames, gaps
  w.writeUE(119).writeUE(67).writeBit(1).writeBit(1); // 120x68 MBs, frame_mbs_only, direct_8x8
  w.writeBit(1).writeUE(0).writeUE(0).writeUE(0).writeUE(4); // crop bottom 4 * 2 rows
  w.writeBit(1); // vui_parameters_present_flag
  w.writeBit(1).writeBits(8, 255).writeBits(16, 4).writeBits(16, 3); // Extended_SAR
  w.writeBit(0).writeBit(1).writeBits(3, 5).writeBit(0).writeBit(1).writeBits(24, 0x010101);
  w.writeBit(0).writeBit(1).writeBits(32, 1001).writeBits(32, 60000).writeBit(1);
  w.writeBit(1); // rbsp_stop_one_bit
  return addEmulationPrevention(w.toBuffer());
}

describe('parseAvcDecoderConfig', () => {
  it('parses an ffmpeg/x264 High@3.1 record', () => {
    const cfg = parseAvcDecoderConfig(AVCC_720P30);
    expect(cfg).toMatchObject({ profile: 100, compat: 0, level: 31, nalLengthSize: 4 });
    expect(cfg.sps).toHaveLength(1);
    expect(cfg.sps[0].length).toBe(26);
    expect(cfg.pps).toEqual([hex('68ebe3cb22c0')]);
    expect(avcCodecString(cfg)).toBe('avc1.64001f');
    expect(avcCodecString(parseAvcDecoderConfig(AVCC_BASELINE_360P))).toBe('avc1.42c01e');
  });

  it('rejects bad versions, length size 3 and truncated sets', () => {
    expect(() => parseAvcDecoderConfig(hex('0064001fffe100'))).toThrow(TidecastError);
    expect(() => parseAvcDecoderConfig(hex('0164001ffee100'))).toThrow(/lengthSizeMinusOne/);
    expect(() => parseAvcDecoderConfig(AVCC_720P30.subarray(0, 20))).toThrow(/truncated SPS/);
    expect(() => parseAvcDecoderConfig(AVCC_720P30.subarray(0, 34))).toThrow(/numOfPictureParameterSets/);
  });

  it('every truncation throws only CODEC_BAD_CONFIG', () => {
    for (const rec of [AVCC_720P30, AVCC_444_1080P]) {
      for (let n = 0; n < rec.length; n++)
        expectOnlyTidecastError(() => parseAvcDecoderConfig(rec.subarray(0, n)));
    }
  });
});

describe('parseH264Sps', () => {
  const sps = (rec: Buffer) => parseAvcDecoderConfig(rec).sps[0];

  it('reads size, chroma, depth and VUI frame rate from real encoder output', () => {
    // This SPS carries emulation-prevention bytes (00 00 03) inside the VUI timing info.
    expect(sps(AVCC_720P30).includes(hex('000003'))).toBe(true);
    expect(parseH264Sps(sps(AVCC_720P30))).toEqual({
      profile: 100,
      level: 31,
      width: 1280,
      height: 720,
      frameRate: 30,
      chromaFormat: 1,
      bitDepth: 8,
    });
    expect(parseH264Sps(sps(AVCC_BASELINE_360P))).toMatchObject({
      profile: 66,
      width: 640,
      height: 360,
      frameRate: 25,
    });
    const hi444 = parseH264Sps(sps(AVCC_444_1080P));
    expect(hi444).toMatchObject({ profile: 244, width: 1920, height: 1080, chromaFormat: 3, bitDepth: 8 });
    expect(hi444.frameRate).toBeCloseTo(59.94, 2);
    expect(parseH264Sps(sps(AVCC_422_10BIT_INTERLACED))).toMatchObject({
      profile: 122,
      width: 720,
      height: 576,
      chromaFormat: 2,
      bitDepth: 10,
      frameRate: 25,
    });
  });

  it('handles scaling lists, POC type 1, cropping and full VUI', () => {
    const nal = syntheticSps();
    const info = parseH264Sps(nal);
    expect(info).toMatchObject({
      profile: 100,
      level: 40,
      width: 1920,
      height: 1080,
      chromaFormat: 1,
      bitDepth: 8,
    });
    expect(info.frameRate).toBeCloseTo(29.97, 2);
  });

  it('tolerates a truncated VUI (frame rate unknown) but not a truncated picture size', () => {
    const full = sps(AVCC_720P30);
    const noTiming = parseH264Sps(full.subarray(0, 12));
    expect(noTiming).toMatchObject({ width: 1280, height: 720 });
    expect(noTiming.frameRate).toBeUndefined();
    expect(() => parseH264Sps(full.subarray(0, 6))).toThrow(TidecastError);
    expect(() => parseH264Sps(hex('68ebe3cb22c0'))).toThrow(/not an SPS/);
  });

  it('every truncation and random mutation throws only CODEC_BAD_CONFIG', () => {
    const fixtures = [sps(AVCC_720P30), sps(AVCC_444_1080P), sps(AVCC_422_10BIT_INTERLACED), syntheticSps()];
    for (const f of fixtures)
      for (let n = 0; n <= f.length; n++) expectOnlyTidecastError(() => parseH264Sps(f.subarray(0, n)));
    fc.assert(
      fc.property(
        fc.constantFrom(...fixtures),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }),
        (base, edits) => {
          const m = Buffer.from(base);
          for (const [i, v] of edits) m[1 + (i % (m.length - 1))] = v;
          expectOnlyTidecastError(() => parseH264Sps(m));
        },
      ),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        expectOnlyTidecastError(() => parseH264Sps(Buffer.from([0x67, ...bytes])));
        expectOnlyTidecastError(() => parseAvcDecoderConfig(Buffer.from([1, ...bytes])));
      }),
      { numRuns: 2000 },
    );
  });
});
