import { describe, expect, it } from 'vitest';
import { Frame } from '../media/frame.js';
import { Segmenter } from './segmenter.js';
import { SegmentStore } from './store.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** avcC of x264 1280x720 High@3.1 (same fixture as src/media/codecs/h264.test.ts) */
const AVCC = hex(
  '0164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000668ebe3cb22c0fdf8f800',
);
const ASC = hex('1210'); // AAC-LC 44.1 kHz stereo

const nal = (type: number, n: number) =>
  Buffer.concat([Buffer.from([0, 0, 0, n + 1, type]), Buffer.alloc(n, 0x11)]);
const videoHeader = (ts: number) =>
  new Frame(9, ts, Buffer.concat([hex('1700000000'), AVCC]), { keyframe: true, sequenceHeader: true });
const video = (ts: number, key: boolean) =>
  new Frame(
    9,
    ts,
    Buffer.concat([Buffer.from([key ? 0x17 : 0x27, 1, 0, 0, 0]), nal(key ? 0x65 : 0x41, 40)]),
    {
      keyframe: key,
      sequenceHeader: false,
    },
  );
const audioHeader = (ts: number) =>
  new Frame(8, ts, Buffer.concat([hex('af00'), ASC]), { keyframe: false, sequenceHeader: true });
const audio = (ts: number) => new Frame(8, ts, Buffer.concat([hex('af01'), Buffer.alloc(20, 0x21)]));

/** 25 fps video with a keyframe every second, AAC every ~23 ms, from `from` ms for `seconds`. */
function frames(from: number, seconds: number): Frame[] {
  const out: Frame[] = [];
  let a = from;
  for (let v = from; v < from + seconds * 1000; v += 40) {
    out.push(video(v, (v - from) % 1000 === 0));
    while (a < v + 40) {
      out.push(audio(a));
      a += 23;
    }
  }
  return out;
}

function segmenter(opts: { partTarget?: number; window?: number } = {}) {
  const store = new SegmentStore(opts.window ?? 4);
  const seg = new Segmenter(
    {
      format: 'fmp4',
      targetDuration: 1,
      partTarget: opts.partTarget,
      now: () => 1_700_000_000_000,
      dash: true,
    },
    store,
  );
  return { store, seg };
}

describe('Segmenter (fMP4)', () => {
  it('cuts segments at keyframes after the target and parts before PART-TARGET; parts tile the segment', () => {
    const { store, seg } = segmenter({ partTarget: 0.25 });
    seg.write([videoHeader(0), audioHeader(0)]);
    seg.write(frames(0, 5));
    expect(store.init?.bytes.subarray(4, 8).toString()).toBe('ftyp');
    expect(store.segments.length).toBe(4); // the 5th is still open
    for (const s of store.segments) {
      expect(s.duration).toBeCloseTo(1, 2);
      expect(s.parts[0].independent).toBe(true);
      expect(s.parts.slice(1).every((p) => !p.independent)).toBe(true);
      for (const p of s.parts) expect(p.duration).toBeLessThanOrEqual(0.25 + 1e-9);
      expect(s.parts.reduce((n, p) => n + p.duration, 0)).toBeCloseTo(s.duration, 6);
      expect(s.bytes.equals(Buffer.concat(s.parts.map((p) => p.bytes)))).toBe(true);
      expect(s.dash?.video?.subarray(4, 8).toString()).toBe('moof');
      expect(s.dash?.audio?.subarray(4, 8).toString()).toBe('moof');
    }
    expect(store.segments.map((s) => s.msn)).toEqual([0, 1, 2, 3]);
  });

  it('keeps a bounded window and counts discontinuities that leave it', () => {
    const { store, seg } = segmenter({ window: 3 });
    seg.write([videoHeader(0), audioHeader(0)]);
    seg.write(frames(0, 4));
    seg.restart(); // a publisher came back: the next segment is a discontinuity
    seg.write([videoHeader(4000), audioHeader(4000)]);
    seg.write(frames(4000, 8));
    expect(store.segments.length).toBe(3 + store.keepExtra);
    expect(store.listed.length).toBe(3);
    const withDisc = store.segments.filter((s) => s.discontinuity);
    expect(withDisc.length + store.discontinuitySequence).toBe(1);
    expect(store.listed[0].msn).toBe(store.firstListedMsn);
  });

  it('a codec change starts a new init segment at the next keyframe, with a discontinuity', () => {
    const { store, seg } = segmenter();
    seg.write([videoHeader(0), audioHeader(0)]);
    seg.write(frames(0, 2));
    const first = store.init?.version;
    const other = Buffer.from(AVCC);
    other[3] = 0x28; // level 4.0: a different configuration
    seg.write([
      new Frame(9, 2000, Buffer.concat([hex('1700000000'), other]), { keyframe: true, sequenceHeader: true }),
    ]);
    seg.write(frames(2000, 2));
    expect(store.init?.version).toBe((first ?? 0) + 1);
    const changed = store.segments.find((s) => s.initVersion === store.init?.version);
    expect(changed?.discontinuity).toBe(true);
  });

  it('end() closes the open segment and marks the store ended', () => {
    const { store, seg } = segmenter({ partTarget: 0.25 });
    seg.write([videoHeader(0), audioHeader(0)]);
    seg.write(frames(0, 1.5));
    seg.end();
    expect(store.ended).toBe(true);
    expect(store.current).toBeUndefined();
    expect(store.segments.at(-1)?.duration).toBeGreaterThan(0.4);
  });
});
