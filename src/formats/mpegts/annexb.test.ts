import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { H264_AUD, HEVC_AUD, nalKind, parameterSetsFromTrack, toAnnexB } from './annexb.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** libx264 baseline 640x360 avcC (SPS 25 bytes, PPS 5 bytes), 4-byte NAL lengths. */
const AVCC = hex('0142c01effe100196742c01ed900a02ff97011000003000100000300320f162e4801000568cb83cb20');
/** x265 1920x1080 hvcC (VPS, SPS, PPS), 4-byte NAL lengths. */
const HVCC = hex(
  `01016000000090000000000078f000fcfdf8f800000f03
   a00001001840010c01ffff016000000300900000030000030078959809
   a10001002a420101016000000300900000030000030078a003c08010e596566924caf0168080000003008000000c84a2
   000100074401c172b46240`,
);

const avc = parameterSetsFromTrack({ codec: 'avc1', config: AVCC });
const hevc = parameterSetsFromTrack({ codec: 'hvc1', config: HVCC });
const SPS = avc.sps[0];
const PPS = avc.pps[0];

/** Length-prefixes NAL units (AVCC sample). */
function avcc(nals: Buffer[], size = 4): Buffer {
  return Buffer.concat(
    nals.flatMap((n) => {
      const len = Buffer.alloc(size);
      len.writeUIntBE(n.length, 0, size);
      return [len, n];
    }),
  );
}

/** Splits our Annex B output (always 4-byte start codes) into NAL units. */
function splitAnnexB(b: Buffer): Buffer[] {
  expect(b.subarray(0, 4)).toEqual(hex('00000001'));
  const out: Buffer[] = [];
  let start = 4;
  for (let i = 4; i + 4 <= b.length; i++) {
    if (b[i] === 0 && b[i + 1] === 0 && b[i + 2] === 0 && b[i + 3] === 1) {
      out.push(b.subarray(start, i));
      start = i + 4;
      i += 3;
    }
  }
  out.push(b.subarray(start));
  return out;
}

const nal = (header: number[], body = 'aabbcc') => Buffer.concat([Buffer.from(header), hex(body)]);
const IDR = nal([0x65, 0x88]);
const IDR2 = nal([0x65, 0x00]);
const P_SLICE = nal([0x41, 0x9a]);
const SEI = nal([0x06, 0x05]);

describe('toAnnexB (H.264)', () => {
  it('reads SPS/PPS and the NAL length size from the avcC', () => {
    expect(avc).toMatchObject({ codec: 'h264', nalLengthSize: 4, vps: [] });
    expect(nalKind('h264', SPS)).toBe('sps');
    expect(nalKind('h264', PPS)).toBe('pps');
  });

  it('prepends an AUD to a non-IDR frame and inserts nothing else', () => {
    expect(splitAnnexB(toAnnexB(avcc([P_SLICE]), avc, false))).toEqual([H264_AUD, P_SLICE]);
  });

  it('puts AUD first and SPS/PPS right after it (ahead of SEI) in an IDR access unit', () => {
    expect(splitAnnexB(toAnnexB(avcc([SEI, IDR, IDR2]), avc, true))).toEqual([
      H264_AUD,
      SPS,
      PPS,
      SEI,
      IDR,
      IDR2,
    ]);
  });

  it('does not duplicate an in-band AUD or in-band SPS/PPS', () => {
    const aud = hex('0910');
    const sps2 = Buffer.concat([SPS, hex('80')]);
    expect(splitAnnexB(toAnnexB(avcc([aud, sps2, PPS, IDR]), avc, true))).toEqual([aud, sps2, PPS, IDR]);
    // Only the missing kind is added, after the in-band one (a PPS must follow its SPS).
    expect(splitAnnexB(toAnnexB(avcc([SEI, sps2, IDR]), avc, true))).toEqual([H264_AUD, SEI, sps2, PPS, IDR]);
  });

  it('drops a misplaced AUD so that exactly one AUD leads', () => {
    expect(splitAnnexB(toAnnexB(avcc([P_SLICE, hex('0930')]), avc, false))).toEqual([H264_AUD, P_SLICE]);
  });

  it('adds parameter sets to a keyframe without IDR slice (recovery point I-frame)', () => {
    const nonIdrI = nal([0x21, 0xb8]); // nal_unit_type 1 (non-IDR slice) carrying an I picture
    expect(nalKind('h264', nonIdrI)).toBe('vcl');
    expect(splitAnnexB(toAnnexB(avcc([SEI, nonIdrI]), avc, true))).toEqual([
      H264_AUD,
      SPS,
      PPS,
      SEI,
      nonIdrI,
    ]);
    expect(splitAnnexB(toAnnexB(avcc([SEI, nonIdrI]), avc, false))).toEqual([H264_AUD, SEI, nonIdrI]);
  });

  it('honours 1- and 2-byte NAL length prefixes', () => {
    for (const size of [1, 2]) {
      const ps = { ...avc, nalLengthSize: size };
      expect(splitAnnexB(toAnnexB(avcc([IDR], size), ps, true))).toEqual([H264_AUD, SPS, PPS, IDR]);
    }
  });

  it('throws CODEC_BAD_CONFIG on a NAL length overrunning the sample', () => {
    const bad = avcc([IDR]).subarray(0, 7);
    expect(() => toAnnexB(bad, avc, true)).toThrow(TidecastError);
    expect(() => toAnnexB(Buffer.from([0, 0, 1]), avc, true)).toThrow(/truncated NAL length/);
  });

  it('rejects codecs MPEG-TS carriage is not implemented for', () => {
    expect(() => parameterSetsFromTrack({ codec: 'av01', config: Buffer.alloc(4) })).toThrow(/av01/);
  });

  it('property: AUD first and only, parameter sets before every IDR, input NALs kept in order', () => {
    const kinds = [0x01, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0c];
    const arbNal = fc
      .tuple(fc.constantFrom(...kinds), fc.uint8Array({ minLength: 1, maxLength: 20 }))
      .map(([t, body]) => Buffer.from([0x60 | t, ...body.map((x) => x || 1)]));
    fc.assert(
      fc.property(fc.array(arbNal, { maxLength: 12 }), fc.boolean(), (nals, key) => {
        const out = splitAnnexB(toAnnexB(avcc(nals), avc, key));
        const outKinds = out.map((n) => nalKind('h264', n));
        expect(outKinds[0]).toBe('aud');
        expect(outKinds.lastIndexOf('aud')).toBe(0);
        const firstIdr = outKinds.indexOf('irap');
        if (firstIdr >= 0) {
          expect(outKinds.slice(0, firstIdr)).toContain('sps');
          expect(outKinds.slice(0, firstIdr)).toContain('pps');
        }
        const inserted = [SPS, PPS];
        const kept = out.slice(1).filter((n) => !inserted.some((x) => x.equals(n)));
        const expected = nals.filter((n, i) => nalKind('h264', n) !== 'aud' || i === 0);
        expect(kept).toEqual(nalKind('h264', nals[0] ?? IDR) === 'aud' ? expected.slice(1) : expected);
      }),
    );
  });
});

describe('toAnnexB (HEVC)', () => {
  const idrWRadl = nal([19 << 1, 0x01]);
  const cra = nal([21 << 1, 0x01]);
  const trail = nal([1 << 1, 0x01]);
  const prefixSei = nal([39 << 1, 0x01]);

  it('uses the hvcC arrays and the HEVC AUD (46 01 50)', () => {
    expect(hevc).toMatchObject({ codec: 'hevc', nalLengthSize: 4 });
    expect(HEVC_AUD).toEqual(hex('460150'));
    expect(nalKind('hevc', hevc.vps[0])).toBe('vps');
    expect(nalKind('hevc', hevc.sps[0])).toBe('sps');
    expect(nalKind('hevc', hevc.pps[0])).toBe('pps');
  });

  it('inserts VPS/SPS/PPS in IDR and CRA access units, not in trailing pictures', () => {
    const sets = [hevc.vps[0], hevc.sps[0], hevc.pps[0]];
    for (const irap of [idrWRadl, cra]) {
      expect(splitAnnexB(toAnnexB(avcc([prefixSei, irap]), hevc, true))).toEqual([
        HEVC_AUD,
        ...sets,
        prefixSei,
        irap,
      ]);
    }
    expect(splitAnnexB(toAnnexB(avcc([trail]), hevc, false))).toEqual([HEVC_AUD, trail]);
  });

  it('keeps in-band parameter sets without duplicating them', () => {
    const inBand = [hevc.vps[0], hevc.sps[0], hevc.pps[0], idrWRadl];
    expect(splitAnnexB(toAnnexB(avcc(inBand), hevc, true))).toEqual([HEVC_AUD, ...inBand]);
  });
});
