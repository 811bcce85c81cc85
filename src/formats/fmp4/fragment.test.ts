import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AudioTrack, Sample, VideoTrack } from '../../media/sample.js';
import { av1SampleData } from './av1-sample.js';
import { SAMPLE_FLAGS_NON_SYNC, SAMPLE_FLAGS_SYNC } from './boxes/fragment-boxes.js';
import { fragment, type TrackRun } from './fragment.js';
import {
  type BoxInfo,
  children,
  findBox,
  findBoxes,
  readBoxes,
  readTfdt,
  readTfhd,
  readTrun,
} from './inspect.js';

const video: VideoTrack = {
  kind: 'video',
  id: 1,
  codec: 'avc1',
  config: Buffer.alloc(7),
  width: 320,
  height: 240,
  codecString: 'avc1.64001f',
};
const audio: AudioTrack = {
  kind: 'audio',
  id: 2,
  codec: 'mp4a',
  config: Buffer.from([0x12, 0x10]),
  sampleRate: 44100,
  channels: 2,
  codecString: 'mp4a.40.2',
};

const bytes = (n: number, fill: number) => Buffer.alloc(n, fill);
const s = (dts: number, pts: number, keyframe: boolean, data: Buffer): Sample => ({
  dts,
  pts,
  keyframe,
  data,
});

interface ParsedTraf {
  trackId: number;
  tfhdFlags: number;
  tfdtVersion: number;
  base: number;
  trun: ReturnType<typeof readTrun>;
  /** sample payloads located through data_offset + sizes */
  data: Buffer[];
}

/** Walks a moof+mdat, checking the structure, and resolves every sample through its data_offset. */
function parse(buf: Buffer): { seq: number; trafs: ParsedTraf[]; mdat: BoxInfo } {
  const top = readBoxes(buf);
  expect(top.map((b) => b.type)).toEqual(['moof', 'mdat']);
  const [moof, mdat] = top;
  expect(children(buf, moof)[0].type).toBe('mfhd');
  const seq = findBox(buf, ['moof', 'mfhd']).payload.readUInt32BE(4);
  const trafs = findBoxes(buf, ['moof', 'traf']).map((traf) => {
    const kids = children(buf, traf);
    expect(kids.map((k) => k.type)).toEqual(['tfhd', 'tfdt', 'trun']);
    const tfhd = readTfhd(kids[0]);
    const tfdt = readTfdt(kids[1]);
    const trun = readTrun(kids[2]);
    let at = moof.start + (trun.dataOffset ?? Number.NaN);
    const data = trun.samples.map((x) => {
      expect(at).toBeGreaterThanOrEqual(mdat.start + mdat.headerSize);
      expect(at + (x.size ?? 0)).toBeLessThanOrEqual(mdat.end);
      const d = buf.subarray(at, at + (x.size ?? 0));
      at += x.size ?? 0;
      return d;
    });
    return {
      trackId: tfhd.trackId,
      tfhdFlags: tfhd.flags,
      tfdtVersion: tfdt.version,
      base: tfdt.baseMediaDecodeTime,
      trun,
      data,
    };
  });
  return { seq, trafs, mdat };
}

describe('fragment: box-level fields', () => {
  const vSamples = [
    s(0, 80, true, bytes(100, 1)),
    s(40, 160, false, bytes(50, 2)),
    s(80, 80 + 40, false, bytes(30, 3)),
  ];
  const aSamples = [0, 23, 46, 70].map((t, i) => s(t, t, false, bytes(10 + i, 0x10 + i)));
  const buf = fragment(7, [
    { track: video, samples: vSamples, lastDuration: 40 },
    { track: audio, samples: aSamples, lastDuration: 23 },
  ]);
  const { seq, trafs, mdat } = parse(buf);

  it('moof(mfhd, traf per run) + one mdat; sizes add up', () => {
    expect(seq).toBe(7);
    expect(trafs.map((t) => t.trackId)).toEqual([1, 2]);
    expect(mdat.size).toBe(8 + 100 + 50 + 30 + 10 + 11 + 12 + 13);
    expect(mdat.end).toBe(buf.length);
  });

  it('tfhd default-base-is-moof, tfdt version 1', () => {
    for (const t of trafs) {
      expect(t.tfhdFlags).toBe(0x020000);
      expect(t.tfdtVersion).toBe(1);
      expect(t.base).toBe(0);
    }
  });

  it('video trun v1: durations, sizes, sync/non-sync flags, signed composition offsets', () => {
    const t = trafs[0].trun;
    expect(t.version).toBe(1);
    expect(t.flags).toBe(0x000f01);
    expect(t.samples).toEqual([
      { duration: 3600, size: 100, flags: SAMPLE_FLAGS_SYNC, compositionOffset: 7200 },
      { duration: 3600, size: 50, flags: SAMPLE_FLAGS_NON_SYNC, compositionOffset: 10800 },
      { duration: 3600, size: 30, flags: SAMPLE_FLAGS_NON_SYNC, compositionOffset: 3600 },
    ]);
    expect(SAMPLE_FLAGS_SYNC).toBe(0x02000000);
    expect(SAMPLE_FLAGS_NON_SYNC).toBe(0x01010000);
  });

  it('audio trun: all sync, no composition offsets, durations from rounded absolute times', () => {
    const t = trafs[1].trun;
    expect(t.flags).toBe(0x000701);
    // round(23*44.1)=1014, round(46*44.1)=2029, round(70*44.1)=3087, round(93*44.1)=4101
    expect(t.samples.map((x) => x.duration)).toEqual([1014, 1015, 1058, 1014]);
    expect(t.samples.every((x) => x.flags === SAMPLE_FLAGS_SYNC && x.compositionOffset === undefined)).toBe(
      true,
    );
  });

  it('data_offset points into mdat at each run, in run order', () => {
    expect(trafs[0].trun.dataOffset).toBe(mdat.start + 8);
    expect(trafs[0].data.map((d) => d[0])).toEqual([1, 2, 3]);
    expect(trafs[0].data.map((d) => d.length)).toEqual([100, 50, 30]);
    expect(trafs[1].data.map((d) => d.toString('hex'))).toEqual(aSamples.map((x) => x.data.toString('hex')));
  });
});

describe('fragment: timing', () => {
  it('tfdt is 64-bit past 2^32 ticks (13.25 h at 90 kHz)', () => {
    const dts = 14 * 3600 * 1000 + 0.5; // 14 h
    const { trafs } = parse(
      fragment(1, [{ track: video, samples: [s(dts, dts + 40, true, bytes(4, 9))], lastDuration: 40 }]),
    );
    expect(trafs[0].base).toBe(Math.round(dts * 90));
    expect(trafs[0].base).toBeGreaterThan(2 ** 32);
  });

  it('negative composition offsets stay signed', () => {
    const { trafs } = parse(
      fragment(1, [{ track: video, samples: [s(1000, 960, true, bytes(1, 0))], lastDuration: 33.3667 }]),
    );
    expect(trafs[0].trun.samples[0].compositionOffset).toBe(-3600);
    expect(trafs[0].trun.samples[0].duration).toBe(Math.round(1033.3667 * 90) - 90000);
  });

  it('Opus uses 48 kHz and fractional-ms AAC times map to exact 1024-tick frames', () => {
    const opus: AudioTrack = { ...audio, id: 3, codec: 'Opus', sampleRate: 16000 };
    const o = parse(
      fragment(1, [{ track: opus, samples: [s(20, 20, true, bytes(3, 1))], lastDuration: 20 }]),
    );
    expect(o.trafs[0].base).toBe(960);
    expect(o.trafs[0].trun.samples[0].duration).toBe(960);
    const frame = (1024 * 1000) / 44100;
    const aac = Array.from({ length: 50 }, (_, i) => s(1e6 + i * frame, 1e6 + i * frame, true, bytes(2, i)));
    const a = parse(fragment(1, [{ track: audio, samples: aac, lastDuration: frame }]));
    expect(new Set(a.trafs[0].trun.samples.map((x) => x.duration))).toEqual(new Set([1024]));
  });

  it('consecutive fragments never drift: next tfdt = tfdt + sum(durations)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0, max: 200, noNaN: true }), { minLength: 2, maxLength: 60 }),
        fc.array(fc.integer({ min: 1, max: 10 }), { minLength: 1, maxLength: 20 }),
        fc.double({ min: 0, max: 1e9, noNaN: true }),
        fc.constantFrom(90000, 44100, 48000, 22050),
        (gaps, cuts, start, rate) => {
          const track: AudioTrack | VideoTrack = rate === 90000 ? video : { ...audio, sampleRate: rate };
          const dts: number[] = [];
          let t = start;
          for (const g of gaps) {
            t += g;
            dts.push(t);
          }
          const samples = dts.map((d, i) => s(d, d + (i % 3) * 10, i === 0, bytes(1 + (i % 5), i)));
          let i = 0;
          let seq = 1;
          let expectedBase: number | undefined;
          const ts = rate;
          while (i < samples.length) {
            const n = cuts[(seq - 1) % cuts.length];
            const part = samples.slice(i, i + n);
            i += part.length;
            const next = samples[i];
            const lastDuration = next ? next.dts - part[part.length - 1].dts : 20;
            const f = parse(fragment(seq++, [{ track, samples: part, lastDuration }]));
            const tr = f.trafs[0];
            expect(tr.base).toBe(Math.round((part[0].dts * ts) / 1000));
            if (expectedBase !== undefined) expect(tr.base).toBe(expectedBase);
            const sum = tr.trun.samples.reduce((acc, x) => acc + (x.duration ?? 0), 0);
            expectedBase = tr.base + sum;
            expect(tr.data.map((d) => d.toString('hex'))).toEqual(part.map((p) => p.data.toString('hex')));
          }
          expect(expectedBase).toBe(Math.round(((dts[dts.length - 1] + 20) * ts) / 1000));
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('fragment: input checks', () => {
  const one = (dts: number): Sample => s(dts, dts, true, bytes(1, 0));
  it('skips empty runs but needs one sample', () => {
    expect(() => fragment(1, [])).toThrow(RangeError);
    expect(() => fragment(1, [{ track: video, samples: [], lastDuration: 0 }])).toThrow(RangeError);
    const { trafs } = parse(
      fragment(1, [
        { track: video, samples: [], lastDuration: 0 },
        { track: audio, samples: [one(0)], lastDuration: 23 },
      ]),
    );
    expect(trafs.map((t) => t.trackId)).toEqual([2]);
  });

  it('rejects decode times going backwards, negative or non-finite times, two runs of one track', () => {
    const run = (samples: Sample[], lastDuration = 10): TrackRun => ({ track: audio, samples, lastDuration });
    expect(() => fragment(1, [run([one(10), one(5)])])).toThrow(/backwards/);
    expect(() => fragment(1, [run([one(-1)])])).toThrow(/negative/);
    expect(() => fragment(1, [run([one(Number.NaN)])])).toThrow(/non-finite/);
    expect(() => fragment(1, [run([one(0)], -1)])).toThrow(/duration/);
    expect(() => fragment(1, [run([one(0)]), run([one(1)])])).toThrow(/one run per track/);
  });
});

describe('AV1 samples (AV1-ISOBMFF §2.4)', () => {
  const td = Buffer.from([0x12, 0x00]);
  const seqHdr = Buffer.from([0x0a, 0x03, 1, 2, 3]);
  const frame = Buffer.from([0x32, 0x02, 0xaa, 0xbb]);

  it('drops temporal delimiters, keeps everything else', () => {
    expect(av1SampleData(Buffer.concat([td, seqHdr, frame])).equals(Buffer.concat([seqHdr, frame]))).toBe(
      true,
    );
    const noSize = Buffer.from([0x30, 0xcc, 0xdd]); // last OBU without obu_size
    expect(av1SampleData(Buffer.concat([td, noSize])).equals(noSize)).toBe(true);
    const ext = Buffer.from([0x16, 0x08, 0x00]); // TD with extension header byte
    expect(av1SampleData(Buffer.concat([ext, frame])).equals(frame)).toBe(true);
  });

  it('returns the input itself when there is nothing to drop or the OBUs cannot be walked', () => {
    const plain = Buffer.concat([seqHdr, frame]);
    expect(av1SampleData(plain)).toBe(plain);
    const truncated = Buffer.concat([td, Buffer.from([0x32, 0x09, 0xaa])]);
    expect(av1SampleData(truncated)).toBe(truncated);
    const badLeb = Buffer.concat([td, Buffer.from([0x32, 0xff])]);
    expect(av1SampleData(badLeb)).toBe(badLeb);
  });

  it('fragment stores av01 samples without the delimiter', () => {
    const av1: VideoTrack = { ...video, codec: 'av01', config: Buffer.from('81000c00', 'hex') };
    const data = Buffer.concat([td, frame]);
    const { trafs, mdat } = parse(
      fragment(1, [{ track: av1, samples: [s(0, 0, true, data)], lastDuration: 40 }]),
    );
    expect(trafs[0].trun.samples[0].size).toBe(frame.length);
    expect(trafs[0].data[0].equals(frame)).toBe(true);
    expect(mdat.size).toBe(8 + frame.length);
  });
});
