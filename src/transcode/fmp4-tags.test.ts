import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../errors.js';
import { parseAudioTagBody, parseVideoTagBody } from '../formats/flv/tag-body.js';
import { fragment } from '../formats/fmp4/fragment.js';
import { initSegment } from '../formats/fmp4/init-segment.js';
import type { AudioTrack, Sample, VideoTrack } from '../media/sample.js';
import { Fmp4Tags, type MediaTag } from './fmp4-tags.js';

const HVCC = Buffer.from('0101600000009000000000000078f000fcfdf8f800000f', 'hex');
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
  sampleRate: 44100,
  channels: 2,
  codecString: 'mp4a.40.2',
};
const nal = (n: number, fill: number) => {
  const b = Buffer.alloc(4 + n, fill);
  b.writeUInt32BE(n, 0);
  return b;
};
const v = (dts: number, pts: number, keyframe: boolean): Sample => ({
  dts,
  pts,
  keyframe,
  data: nal(8, dts & 0xff),
});
const a = (dts: number): Sample => ({ dts, pts: dts, keyframe: true, data: Buffer.alloc(6, 3) });

/** What ffmpeg writes for an HEVC rung: init, then fragments with a video and an audio run. */
const stream = Buffer.concat([
  initSegment([video, audio]),
  fragment(1, [
    { track: video, samples: [v(9_960, 10_040, true), v(10_000, 10_120, false)], lastDuration: 40 },
    { track: audio, samples: [a(10_000), a(10_023)], lastDuration: 23 },
  ]),
  fragment(2, [
    { track: video, samples: [v(10_040, 10_080, false)], lastDuration: 40 },
    { track: audio, samples: [a(10_046)], lastDuration: 23 },
  ]),
]);

function describeTag(t: MediaTag): unknown[] {
  if (t.type === 9) {
    const i = parseVideoTagBody(t.body);
    return [
      9,
      t.timestamp,
      i.codec,
      i.isSequenceHeader ? 'header' : i.keyframe ? 'key' : 'inter',
      i.compositionTime,
    ];
  }
  const i = parseAudioTagBody(t.body);
  return [8, t.timestamp, i.codec, i.isSequenceHeader ? 'header' : 'frame'];
}

describe('Fmp4Tags: fMP4 samples as the tag bodies a publisher sends', () => {
  it('sequence headers first, then frames in decode order with ms times and composition offsets', () => {
    const tags = new Fmp4Tags().push(stream);
    expect(tags.map(describeTag)).toEqual([
      [9, 9_960, 'hvc1', 'header', 0],
      [8, 9_960, 'mp4a', 'header'],
      [9, 9_960, 'hvc1', 'key', 80],
      [9, 10_000, 'hvc1', 'inter', 120],
      [8, 10_000, 'mp4a', 'frame'],
      [8, 10_023, 'mp4a', 'frame'],
      [9, 10_040, 'hvc1', 'inter', 40],
      [8, 10_046, 'mp4a', 'frame'],
    ]);
    const h = parseVideoTagBody(tags[0].body);
    expect(tags[0].body.subarray(h.dataOffset)).toEqual(HVCC);
    const k = parseVideoTagBody(tags[2].body);
    expect(tags[2].body.subarray(k.dataOffset)).toEqual(nal(8, 9_960 & 0xff));
    const ah = parseAudioTagBody(tags[1].body);
    expect(tags[1].body.subarray(ah.dataOffset)).toEqual(ASC);
  });

  it('the same tags whatever the split', () => {
    const want = new Fmp4Tags().push(stream).map(describeTag);
    for (let k = 0; k <= stream.length; k += 3) {
      const c = new Fmp4Tags();
      const got = [...c.push(stream.subarray(0, k)), ...c.push(stream.subarray(k))];
      expect(got.map(describeTag), `split at ${k}`).toEqual(want);
    }
  });

  it('both sequence headers come first even when the first run is audio, at the earliest frame time', () => {
    const s = Buffer.concat([
      initSegment([audio, video]),
      fragment(1, [
        { track: audio, samples: [a(10_000)], lastDuration: 23 },
        { track: video, samples: [v(9_960, 10_040, true)], lastDuration: 40 },
      ]),
    ]);
    expect(new Fmp4Tags().push(s).map(describeTag)).toEqual([
      [9, 9_960, 'hvc1', 'header', 0],
      [8, 9_960, 'mp4a', 'header'],
      [9, 9_960, 'hvc1', 'key', 80],
      [8, 10_000, 'mp4a', 'frame'],
    ]);
  });

  it('decode times below the floor move up (strictly increasing) and keep their presentation times', () => {
    const s = Buffer.concat([
      initSegment([video, audio]),
      fragment(1, [
        {
          track: video,
          samples: [v(9_943, 10_023, true), v(9_983, 10_143, false), v(10_023, 10_063, false)],
          lastDuration: 40,
        },
        { track: audio, samples: [a(9_977), a(10_000)], lastDuration: 23 },
      ]),
    ]);
    const tags = new Fmp4Tags({}, 10_000).push(s).map(describeTag);
    expect(tags).toEqual([
      [9, 10_000, 'hvc1', 'header', 0],
      [8, 10_000, 'mp4a', 'header'],
      [9, 10_000, 'hvc1', 'key', 23],
      [8, 10_000, 'mp4a', 'frame'],
      [9, 10_001, 'hvc1', 'inter', 142],
      [8, 10_001, 'mp4a', 'frame'],
      [9, 10_023, 'hvc1', 'inter', 40],
    ]);
  });

  it('a new moov sends the sequence headers again', () => {
    const c = new Fmp4Tags();
    c.push(stream);
    const again = c.push(
      Buffer.concat([
        initSegment([video, audio]),
        fragment(1, [{ track: video, samples: [v(20_000, 20_000, true)], lastDuration: 40 }]),
      ]),
    );
    expect(again.map(describeTag)).toEqual([
      [9, 20_000, 'hvc1', 'header', 0],
      [8, 20_000, 'mp4a', 'header'],
      [9, 20_000, 'hvc1', 'key', 0],
    ]);
  });

  it('mutated input raises only MP4_* errors', () => {
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 0, max: 255 }), (at, val) => {
        const b = Buffer.from(stream);
        b[at % b.length] = val;
        try {
          new Fmp4Tags().push(b);
        } catch (err) {
          expect(err).toBeInstanceOf(TidecastError);
          expect((err as TidecastError).code).toMatch(/^MP4_/);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
