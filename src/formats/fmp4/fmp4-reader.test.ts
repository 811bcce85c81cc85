import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import type { AudioTrack, Sample, VideoTrack } from '../../media/sample.js';
import { box, fullBox, u32 } from './boxes/box.js';
import { mdatHeader, mfhd, SAMPLE_FLAGS_NON_SYNC, SAMPLE_FLAGS_SYNC } from './boxes/fragment-boxes.js';
import { styp } from './boxes/ftyp.js';
import { type Fmp4Event, Fmp4Reader } from './fmp4-reader.js';
import { fragment } from './fragment.js';
import { initSegment } from './init-segment.js';

/** A plausible hvcC payload (the muxer embeds it as is). */
const HVCC = Buffer.from(
  '01016000000090000000000000f000fcfdf8f800000f03a00001001840010c01ffff016000000300900000030000030078959809',
  'hex',
);
const ASC = Buffer.from([0x12, 0x10]);

const video: VideoTrack = {
  kind: 'video',
  id: 1,
  codec: 'hvc1',
  config: HVCC,
  width: 320,
  height: 240,
  codecString: 'hvc1.1.6.L120.90',
};
const audio: AudioTrack = {
  kind: 'audio',
  id: 2,
  codec: 'mp4a',
  config: ASC,
  sampleRate: 48000,
  channels: 2,
  codecString: 'mp4a.40.2',
};

const data = (n: number, seed: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));
const vs = (dts: number, pts: number, keyframe: boolean, n: number): Sample => ({
  dts,
  pts,
  keyframe,
  data: data(n, dts),
});
const as = (dts: number, n: number): Sample => ({ dts, pts: dts, keyframe: true, data: data(n, dts + 7) });

/** init + two fragments from our own muxer (B-frames: pts > dts), audio and video in each. */
function ourFixture(): Buffer {
  return Buffer.concat([
    initSegment([video, audio]),
    fragment(1, [
      {
        track: video,
        samples: [
          vs(10_000, 10_080, true, 300),
          vs(10_040, 10_200, false, 40),
          vs(10_080, 10_120, false, 30),
        ],
        lastDuration: 40,
      },
      {
        track: audio,
        samples: [as(10_000, 20), as(10_021.333, 22), as(10_042.667, 18)],
        lastDuration: 21.333,
      },
    ]),
    styp(), // skipped
    fragment(2, [
      { track: video, samples: [vs(10_120, 10_160, false, 25)], lastDuration: 40 },
      { track: audio, samples: [as(10_064, 19)], lastDuration: 21.333 },
    ]),
  ]);
}

function readAll(chunks: Buffer[]): Fmp4Event[] {
  const r = new Fmp4Reader();
  return chunks.flatMap((c) => r.push(c));
}

/** Events as comparable plain values (sample bytes as hex). */
function plain(events: Fmp4Event[]): unknown[] {
  return events.map((e) =>
    e.type === 'init'
      ? { init: e.tracks.map((t) => ({ ...t, config: t.config?.toString('hex') })) }
      : { ...e.sample, data: e.sample.data.toString('hex') },
  );
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof TidecastError ? err.code : `not a TidecastError: ${(err as Error).message}`;
  }
  return undefined;
}

describe('Fmp4Reader on our own muxer output', () => {
  const f = ourFixture();
  const events = readAll([f]);

  it('reads the tracks of the moov: handler, timescale, codec configuration, size, audio format', () => {
    const init = events[0];
    expect(init.type).toBe('init');
    if (init.type !== 'init') return;
    expect(init.tracks).toHaveLength(2);
    expect(init.tracks[0]).toMatchObject({
      id: 1,
      handler: 'vide',
      timescale: 90000,
      sampleEntry: 'hvc1',
      codec: 'hvc1',
      width: 320,
      height: 240,
    });
    expect(init.tracks[0].config).toEqual(HVCC);
    expect(init.tracks[1]).toMatchObject({
      id: 2,
      handler: 'soun',
      timescale: 48000,
      codec: 'mp4a',
      channels: 2,
      sampleRate: 48000,
    });
    expect(init.tracks[1].config).toEqual(ASC);
  });

  it('reads every sample: decode time, composition offset, duration, sync flag, bytes', () => {
    const samples = events.flatMap((e) => (e.type === 'sample' ? [e.sample] : []));
    const v = samples.filter((s) => s.trackId === 1);
    const a = samples.filter((s) => s.trackId === 2);
    expect(v.map((s) => [s.dts, s.cts, s.duration, s.sync, s.data.length])).toEqual([
      [900_000, 7200, 3600, true, 300],
      [903_600, 14_400, 3600, false, 40],
      [907_200, 3600, 3600, false, 30],
      [910_800, 3600, 3600, false, 25],
    ]);
    expect(v[0].data).toEqual(data(300, 10_000));
    expect(a.map((s) => [s.dts, s.cts, s.sync, s.data.length])).toEqual([
      [480_000, 0, true, 20],
      [481_024, 0, true, 22],
      [482_048, 0, true, 18],
      [483_072, 0, true, 19],
    ]);
    expect(a[3].data).toEqual(data(19, 10_064 + 7));
  });

  it('gives the same events for the fixture split at every byte offset', () => {
    const want = plain(events);
    for (let k = 0; k <= f.length; k++) {
      expect(plain(readAll([f.subarray(0, k), f.subarray(k)])), `split at ${k}`).toEqual(want);
    }
  });

  it('gives the same events fed one byte at a time', () => {
    const bytes = Array.from({ length: f.length }, (_, i) => f.subarray(i, i + 1));
    expect(plain(readAll(bytes))).toEqual(plain(events));
  });

  it('has no events for a partial box, and the rest when it completes', () => {
    const r = new Fmp4Reader();
    const init = initSegment([video, audio]);
    expect(r.push(init.subarray(0, init.length - 1))).toEqual([]);
    expect(r.push(init.subarray(init.length - 1)).map((e) => e.type)).toEqual(['init']);
    expect(r.trackList.map((t) => t.id)).toEqual([1, 2]);
  });
});

/** A hand-made moof using every default path: trex defaults, tfhd defaults, first_sample_flags, no tfdt. */
function defaultsFixture(): Buffer {
  const init = initSegment([video]);
  // replace the muxer's trex (all zero defaults) with one carrying defaults
  const trexOld = fullBox('trex', 0, 0, u32(1), u32(1), u32(0), u32(0), u32(0));
  const trexNew = fullBox('trex', 0, 0, u32(1), u32(1), u32(3000), u32(0), u32(SAMPLE_FLAGS_NON_SYNC));
  const at = init.indexOf(trexOld);
  expect(at).toBeGreaterThan(0);
  trexNew.copy(init, at);
  // tfhd: default-base-is-moof + default_sample_size 10 (duration and flags from trex)
  const tfhd = fullBox('tfhd', 0, 0x020010, u32(1), u32(10));
  // trun v0: data_offset + first_sample_flags, no per-sample fields; 3 samples
  const trunOf = (dataOffset: number) =>
    fullBox('trun', 0, 0x000005, u32(3), u32(dataOffset), u32(SAMPLE_FLAGS_SYNC));
  const moofOf = (dataOffset: number) => box('moof', mfhd(1), box('traf', tfhd, trunOf(dataOffset)));
  const size = moofOf(0).length;
  const payload = data(30, 1);
  return Buffer.concat([init, moofOf(size + 8), mdatHeader(30), payload]);
}

describe('Fmp4Reader defaults', () => {
  it('takes durations and flags from trex, sizes from tfhd, the first flags from the trun', () => {
    const f = defaultsFixture();
    const samples = readAll([f]).flatMap((e) => (e.type === 'sample' ? [e.sample] : []));
    expect(samples.map((s) => [s.dts, s.duration, s.sync, s.data.length])).toEqual([
      [0, 3000, true, 10],
      [3000, 3000, false, 10],
      [6000, 3000, false, 10],
    ]);
    expect(samples[2].data).toEqual(data(30, 1).subarray(20));
  });
});

describe('Fmp4Reader errors', () => {
  const init = initSegment([video, audio]);

  it('a moof before any moov: MP4_BAD_BOX', () => {
    const frag = fragment(1, [{ track: video, samples: [vs(0, 0, true, 5)], lastDuration: 40 }]);
    expect(codeOf(() => new Fmp4Reader().push(frag))).toBe('MP4_BAD_BOX');
  });

  it('a box smaller than its header, or with a non-printable type: MP4_BAD_BOX', () => {
    expect(codeOf(() => new Fmp4Reader().push(Buffer.concat([u32(4), Buffer.from('ftyp')])))).toBe(
      'MP4_BAD_BOX',
    );
    expect(codeOf(() => new Fmp4Reader().push(Buffer.from('0000000800000000', 'hex')))).toBe('MP4_BAD_BOX');
    expect(codeOf(() => new Fmp4Reader().push(box('moov', u32(4), Buffer.from('trak'))))).toBe('MP4_BAD_BOX');
  });

  it('a box past the size limit: MP4_TOO_LARGE, before its bytes arrive', () => {
    const r = new Fmp4Reader({ maxBoxBytes: 2000 });
    expect(codeOf(() => r.push(mdatHeader(5000)))).toBe('MP4_TOO_LARGE');
    // skipped boxes are not buffered, so they have no limit
    const r2 = new Fmp4Reader({ maxBoxBytes: 2000 });
    expect(r2.push(Buffer.concat([box('free', Buffer.alloc(4000)), init]))).toHaveLength(1);
  });

  it('too many samples in a fragment: MP4_TOO_LARGE', () => {
    const frag = fragment(1, [
      {
        track: video,
        samples: [vs(0, 0, true, 5), vs(40, 40, false, 5), vs(80, 80, false, 5)],
        lastDuration: 40,
      },
    ]);
    const r = new Fmp4Reader({ maxSamplesPerFragment: 2 });
    expect(codeOf(() => r.push(Buffer.concat([init, frag])))).toBe('MP4_TOO_LARGE');
  });

  it('a trun whose sample table is cut short: MP4_TRUNCATED', () => {
    const frag = fragment(1, [{ track: video, samples: [vs(0, 0, true, 5)], lastDuration: 40 }]);
    const bad = Buffer.from(frag);
    const trun = bad.indexOf('trun');
    bad.writeUInt32BE(1000, trun + 8); // sample_count
    expect(codeOf(() => new Fmp4Reader().push(Buffer.concat([init, bad])))).toBe('MP4_TRUNCATED');
  });

  it('sample data outside the mdat: MP4_BAD_BOX', () => {
    const frag = fragment(1, [{ track: video, samples: [vs(0, 0, true, 5)], lastDuration: 40 }]);
    const bad = Buffer.from(frag);
    const trun = bad.indexOf('trun');
    bad.writeUInt32BE(500, trun + 8 + 8 + 4); // the first sample's size
    expect(codeOf(() => new Fmp4Reader().push(Buffer.concat([init, bad])))).toBe('MP4_BAD_BOX');
  });

  it('a track fragment for a track the moov does not have: MP4_BAD_BOX', () => {
    const other = { ...video, id: 9 };
    const frag = fragment(1, [{ track: other, samples: [vs(0, 0, true, 5)], lastDuration: 40 }]);
    expect(codeOf(() => new Fmp4Reader().push(Buffer.concat([init, frag])))).toBe('MP4_BAD_BOX');
  });

  it('after an error every push throws the same error', () => {
    const r = new Fmp4Reader();
    expect(codeOf(() => r.push(Buffer.concat([u32(4), Buffer.from('ftyp')])))).toBe('MP4_BAD_BOX');
    expect(codeOf(() => r.push(init))).toBe('MP4_BAD_BOX');
  });

  it('garbage and mutated fixtures only ever raise MP4_* TidecastErrors', () => {
    const f = ourFixture();
    const check = (chunks: Buffer[]) => {
      const code = codeOf(() => readAll(chunks));
      if (code !== undefined) expect(code).toMatch(/^MP4_(TRUNCATED|BAD_BOX|TOO_LARGE)$/);
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), fc.nat(), (bytes, k) => {
        const b = Buffer.from(bytes);
        const cut = b.length === 0 ? 0 : k % b.length;
        check([b.subarray(0, cut), b.subarray(cut)]);
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 }),
        fc.nat(),
        (edits, k) => {
          const b = Buffer.from(f);
          for (const [at, v] of edits) b[at % b.length] = v;
          const cut = k % b.length;
          check([b.subarray(0, cut), b.subarray(cut)]);
        },
      ),
      { numRuns: 1000 },
    );
  });
});

function hasLibx265(): boolean {
  try {
    return execFileSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' }).includes('libx265');
  } catch {
    return false;
  }
}

const x265 = hasLibx265();
if (!x265) console.warn('[fmp4-reader.test] SKIPPED the ffmpeg fixture: no ffmpeg with libx265 on PATH');

describe.skipIf(!x265)('Fmp4Reader on ffmpeg output (libx265 + AAC, as the ABR ladder writes it)', () => {
  it('reads it, and the same split at every byte offset', () => {
    const f = execFileSync(
      'ffmpeg',
      [
        ...['-v', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=64x64:rate=25:duration=0.4'],
        ...['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=0.4'],
        ...['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error:keyint=5'],
        ...['-c:a', 'aac', '-b:a', '32k', '-tag:v', 'hvc1', '-f', 'mp4'],
        ...['-movflags', 'frag_keyframe+empty_moov+default_base_moof', '-frag_duration', '100000', 'pipe:1'],
      ],
      { maxBuffer: 16 << 20 },
    );
    const events = readAll([f]);
    const init = events[0];
    expect(init.type).toBe('init');
    if (init.type !== 'init') return;
    expect(init.tracks.map((t) => [t.handler, t.codec])).toEqual([
      ['vide', 'hvc1'],
      ['soun', 'mp4a'],
    ]);
    expect(init.tracks[0].config?.[0]).toBe(1); // configurationVersion
    expect(init.tracks[1].config?.length).toBeGreaterThanOrEqual(2);
    const video = events.flatMap((e) => (e.type === 'sample' && e.sample.trackId === 1 ? [e.sample] : []));
    expect(video).toHaveLength(10);
    expect(video.map((s) => s.sync)).toEqual([
      true,
      false,
      false,
      false,
      false,
      true,
      false,
      false,
      false,
      false,
    ]);
    // length-prefixed NAL units that tile each sample exactly
    for (const s of video) {
      let off = 0;
      while (off < s.data.length) off += 4 + s.data.readUInt32BE(off);
      expect(off).toBe(s.data.length);
    }
    const want = plain(events);
    const step = f.length > 40_000 ? 7 : 1;
    for (let k = 0; k <= f.length; k += step) {
      expect(plain(readAll([f.subarray(0, k), f.subarray(k)])), `split at ${k}`).toEqual(want);
    }
  });
});
