import { describe, expect, it } from 'vitest';
import { decodeAmf0, encodeAmf0 } from '../formats/amf/amf0.js';
import { EcmaArray } from '../formats/amf/types.js';
import { Ingest, type IngestMessage, type IngestResult } from './ingest.js';
import { Stream } from './stream.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** avcC from `ffmpeg -f lavfi -i testsrc2=size=1280x720:rate=30 -c:v libx264 -profile:v high -level 3.1 -f flv`
 * (same fixture as src/media/codecs/h264.test.ts). */
const AVCC_720P30 = hex(
  '0164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000668ebe3cb22c0fdf8f800',
);
/** AAC-LC, 44.1 kHz, stereo AudioSpecificConfig. */
const ASC_LC_44100_STEREO = hex('1210');

const avcSeqHeader = () => Buffer.concat([hex('1700000000'), AVCC_720P30]);
const avcKey = (n = 20) => Buffer.concat([hex('1701000000'), Buffer.alloc(n, 0x65)]);
const avcInter = (n = 10) => Buffer.concat([hex('2701000000'), Buffer.alloc(n, 0x41)]);
const aacSeqHeader = () => Buffer.concat([hex('af00'), ASC_LC_44100_STEREO]);
const aacRaw = (n = 8) => Buffer.concat([hex('af01'), Buffer.alloc(n, 0x21)]);

function setup() {
  const stream = new Stream('live', 's', 1 << 20);
  const ingest = new Ingest(stream);
  const run = (...msgs: IngestMessage[]): IngestResult => {
    const out: IngestResult = { frames: [] };
    for (const m of msgs) ingest.accept(m, out);
    return out;
  };
  return { stream, ingest, run };
}

/** One FLV-tag-like sub-message of an aggregate: header, body, back pointer. */
function subTag(type: number, ts: number, body: Buffer): Buffer {
  const h = Buffer.alloc(11);
  h[0] = type;
  h.writeUIntBE(body.length, 1, 3);
  h.writeUIntBE(ts & 0xffffff, 4, 3);
  h[7] = (ts >>> 24) & 0xff;
  const back = Buffer.alloc(4);
  back.writeUInt32BE(11 + body.length);
  return Buffer.concat([h, body, back]);
}

describe('Ingest', () => {
  it('flags a 4-byte AAC header (2-byte ASC) as a sequence header, but not an empty E-RTMP SequenceStart', () => {
    const { run } = setup();
    const out = run(
      { type: 8, timestamp: 0, payload: aacSeqHeader() },
      { type: 9, timestamp: 0, payload: Buffer.concat([hex('90'), Buffer.from('av01')]) },
    );
    expect(out.frames[0].body.length).toBe(4);
    expect(out.frames[0].flags.sequenceHeader).toBe(true);
    expect(out.frames[1].flags.sequenceHeader).toBe(false);
  });

  it('turns @setDataFrame onMetaData into a plain onMetaData frame', () => {
    const { run } = setup();
    const meta = { width: 1280, height: 720, encoder: 'obs' };
    const out = run({ type: 18, timestamp: 0, payload: encodeAmf0(['@setDataFrame', 'onMetaData', meta]) });
    expect(out.frames).toEqual([]);
    expect(out.metadata).toBeDefined();
    expect(out.metadata?.type).toBe(18);
    const values = decodeAmf0(out.metadata!.body);
    expect(values[0]).toBe('onMetaData');
    expect(values[1]).toMatchObject(meta);
    expect(values).toHaveLength(2);
  });

  it('accepts onMetaData as an ECMA array (what ffmpeg and OBS send)', () => {
    const { run } = setup();
    const payload = encodeAmf0(['@setDataFrame', 'onMetaData', new EcmaArray({ videocodecid: 7 })]);
    const out = run({ type: 18, timestamp: 0, payload });
    const values = decodeAmf0(out.metadata!.body);
    expect(values[0]).toBe('onMetaData');
    expect(values[1]).toMatchObject({ videocodecid: 7 });
  });

  it('accepts onMetaData without the wrapper', () => {
    const { run } = setup();
    const out = run({ type: 18, timestamp: 0, payload: encodeAmf0(['onMetaData', { duration: 0 }]) });
    const values = decodeAmf0(out.metadata!.body);
    expect(values[0]).toBe('onMetaData');
    expect(values[1]).toMatchObject({ duration: 0 });
  });

  it('forwards other data messages (onTextData) as data frames', () => {
    const { run } = setup();
    const payload = encodeAmf0(['onTextData', { text: 'hello' }]);
    const out = run({ type: 18, timestamp: 500, payload });
    expect(out.metadata).toBeUndefined();
    expect(out.frames).toHaveLength(1);
    expect(out.frames[0].type).toBe(18);
    expect(out.frames[0].timestamp).toBe(500);
    expect(out.frames[0].body).toBe(payload); // forwarded as is, no copy
  });

  it('strips @setDataFrame from other data too, and drops @clearDataFrame and undecodable data', () => {
    const { run } = setup();
    const out = run(
      { type: 18, timestamp: 0, payload: encodeAmf0(['@setDataFrame', 'onCuePoint', { name: 'x' }]) },
      { type: 18, timestamp: 0, payload: encodeAmf0(['@clearDataFrame', 'onMetaData']) },
      { type: 18, timestamp: 0, payload: hex('02ffff41') }, // truncated AMF0 string
    );
    expect(out.frames).toHaveLength(1);
    const values = decodeAmf0(out.frames[0].body);
    expect(values[0]).toBe('onCuePoint');
    expect(values[1]).toMatchObject({ name: 'x' });
    expect(out.metadata).toBeUndefined();
  });

  it('marks keyframes and sequence headers; an AVC sequence header sets stream.info', () => {
    const { run, stream } = setup();
    const out = run(
      { type: 9, timestamp: 0, payload: avcSeqHeader() },
      { type: 9, timestamp: 0, payload: avcKey() },
      { type: 9, timestamp: 33, payload: avcInter() },
    );
    expect(out.frames.map((f) => [f.type, f.timestamp, f.flags.keyframe, f.flags.sequenceHeader])).toEqual([
      [9, 0, true, true],
      [9, 0, true, false],
      [9, 33, false, false],
    ]);
    expect(out.frames[0].flags.fourCc).toBeUndefined(); // legacy, not E-RTMP
    expect(stream.info).toMatchObject({ videoCodec: 'avc1', width: 1280, height: 720, profile: 'High' });
    expect(stream.info.frameRate).toBeCloseTo(30, 5);
  });

  it('an AAC sequence header sets the audio info', () => {
    const { run, stream } = setup();
    const out = run(
      { type: 8, timestamp: 0, payload: aacSeqHeader() },
      { type: 8, timestamp: 23, payload: aacRaw() },
    );
    expect(out.frames.map((f) => [f.type, f.flags.sequenceHeader])).toEqual([
      [8, true],
      [8, false],
    ]);
    expect(stream.info).toMatchObject({ audioCodec: 'mp4a', sampleRate: 44100, channels: 2 });
  });

  it('drops a malformed video tag and counts it instead of throwing', () => {
    const { run, ingest } = setup();
    let out: IngestResult | undefined;
    expect(() => {
      out = run(
        { type: 9, timestamp: 0, payload: hex('17') }, // AVC tag shorter than its 5-byte header
        { type: 9, timestamp: 40, payload: avcKey() },
      );
    }).not.toThrow();
    expect(ingest.badFrames).toBe(1);
    expect(out?.frames).toHaveLength(1);
    expect(out?.frames[0].flags.keyframe).toBe(true);
  });

  it('drops zero-length audio (silence) and ignores other message types', () => {
    const { run, ingest } = setup();
    const out = run(
      { type: 8, timestamp: 0, payload: Buffer.alloc(0) },
      { type: 20, timestamp: 0, payload: encodeAmf0(['foo', 0, null]) },
    );
    expect(out.frames).toEqual([]);
    expect(ingest.badFrames).toBe(0);
  });

  it('splits an aggregate message (type 22) with timestamps relative to the message', () => {
    const { run } = setup();
    const payload = Buffer.concat([
      subTag(9, 5000, avcKey()),
      subTag(8, 5010, aacRaw()),
      subTag(9, 5033, avcInter()),
      subTag(8, 5033, aacRaw()),
    ]);
    const out = run({ type: 22, timestamp: 1000, payload });
    expect(out.frames.map((f) => [f.type, f.timestamp])).toEqual([
      [9, 1000],
      [8, 1010],
      [9, 1033],
      [8, 1033],
    ]);
    expect(out.frames[0].flags.keyframe).toBe(true);
    expect(out.frames[0].body).toEqual(avcKey());
    expect(out.frames[1].body).toEqual(aacRaw());
  });

  it('an aggregate sub-message with an extended timestamp byte is decoded', () => {
    const { run } = setup();
    const base = 0x01000010; // needs TimestampExtended
    const payload = Buffer.concat([subTag(9, base, avcKey()), subTag(9, base + 40, avcInter())]);
    const out = run({ type: 22, timestamp: 2000, payload });
    expect(out.frames.map((f) => f.timestamp)).toEqual([2000, 2040]);
  });

  it('a truncated aggregate keeps the complete sub-messages only', () => {
    const { run } = setup();
    const full = Buffer.concat([subTag(9, 0, avcKey()), subTag(9, 40, avcInter())]);
    const out = run({ type: 22, timestamp: 0, payload: full.subarray(0, full.length - 10) });
    expect(out.frames).toHaveLength(1);
  });

  it('puts a reconnecting publisher after the previous session on the stream timeline', () => {
    const { run, stream } = setup();
    run({ type: 9, timestamp: 90_000, payload: avcKey() });
    stream.timeline.newSession();
    const out = run({ type: 9, timestamp: 0, payload: avcKey() });
    expect(out.frames[0].timestamp).toBeGreaterThan(90_000);
  });
});
