import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { FourCC, parseAudioTagBody, parseVideoTagBody } from './tag-body.js';

/** Hex with optional 'fourcc' literals: h("90 'av01' 00") */
function h(spec: string): Buffer {
  const parts = spec.match(/'[^']*'|[0-9a-fA-F]{2}/g) ?? [];
  return Buffer.concat(
    parts.map((p) => (p.startsWith("'") ? Buffer.from(p.slice(1, -1), 'latin1') : Buffer.from(p, 'hex'))),
  );
}

const AVCC = '0164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000668ebe3cb22c0fdf8f800';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof TidecastError) return err.code;
    throw err;
  }
  return undefined;
}

describe('FourCC', () => {
  it('matches the onMetaData codec id values', () => {
    expect(FourCC.avc1).toBe(1635148593);
    expect(FourCC.hvc1).toBe(1752589105);
    expect(FourCC.av01).toBe(1635135537);
    expect(FourCC.vp09).toBe(1987063865);
    expect(FourCC.mp4a).toBe(1836069985);
    expect(FourCC.Opus).toBe(1332770163);
    for (const [name, v] of Object.entries(FourCC))
      expect(Buffer.from(name, 'latin1').readUInt32BE(0)).toBe(v);
  });
});

describe('parseVideoTagBody (legacy)', () => {
  it('AVC sequence header, NALU with signed CTS, end of sequence', () => {
    const seq = parseVideoTagBody(h(`17 00 000000 ${AVCC}`));
    expect(seq).toMatchObject({
      codec: 'avc1',
      enhanced: false,
      keyframe: true,
      isSequenceHeader: true,
      dataOffset: 5,
    });
    expect(seq.dataLength).toBe(AVCC.length / 2);
    expect(parseVideoTagBody(h('27 01 000043 00000002 0910'))).toMatchObject({
      frameType: 2,
      keyframe: false,
      isSequenceHeader: false,
      compositionTime: 67,
      dataOffset: 5,
      dataLength: 6,
    });
    expect(parseVideoTagBody(h('27 01 ffffce 00')).compositionTime).toBe(-50);
    expect(parseVideoTagBody(h('27 01 800000 00')).compositionTime).toBe(-(2 ** 23));
    expect(parseVideoTagBody(h('17 02 000000'))).toMatchObject({ isSequenceEnd: true, dataLength: 0 });
  });

  it('non-standard HEVC (12) and AV1 (13) codec ids, H.263, VP6, command frames', () => {
    expect(parseVideoTagBody(h('1c 00 000000 01'))).toMatchObject({ codec: 'hvc1', isSequenceHeader: true });
    expect(parseVideoTagBody(h('2d 01 000000 12'))).toMatchObject({ codec: 'av01', fourcc: FourCC.av01 });
    expect(parseVideoTagBody(h('22 aabb'))).toMatchObject({ codec: 'h263', dataOffset: 1, dataLength: 2 });
    expect(parseVideoTagBody(h('14 00 aa'))).toMatchObject({ codec: 'vp6', keyframe: true });
    expect(parseVideoTagBody(h('57 01'))).toMatchObject({ isCommand: true, command: 1, keyframe: false });
    expect(parseVideoTagBody(h('1f 00'))).toMatchObject({ codec: 'other' });
  });

  it('truncated AVC header throws FLV_BAD_TAG', () => {
    expect(codeOf(() => parseVideoTagBody(h('17 01 0000')))).toBe('FLV_BAD_TAG');
    expect(codeOf(() => parseVideoTagBody(Buffer.alloc(0)))).toBe('FLV_BAD_TAG');
    expect(codeOf(() => parseVideoTagBody(h('57')))).toBe('FLV_BAD_TAG');
  });
});

describe('parseVideoTagBody (Enhanced RTMP)', () => {
  it('SequenceStart (empty and with a record), SequenceEnd, Metadata', () => {
    expect(parseVideoTagBody(h("90 'av01'"))).toMatchObject({
      codec: 'av01',
      enhanced: true,
      isSequenceHeader: true,
      dataOffset: 5,
      dataLength: 0,
    });
    expect(parseVideoTagBody(h(`90 'avc1' ${AVCC}`))).toMatchObject({
      codec: 'avc1',
      isSequenceHeader: true,
      dataOffset: 5,
    });
    expect(parseVideoTagBody(h("92 'vp09'"))).toMatchObject({ codec: 'vp09', isSequenceEnd: true });
    expect(parseVideoTagBody(h("d4 'av01' 02 0009 'colorInfo' 03 000009"))).toMatchObject({
      isMetadata: true,
      isCommand: false,
      keyframe: false,
      frameType: 5,
    });
  });

  it('CodedFrames carry a CTS only for avc1/hvc1/vvc1; CodedFramesX implies 0', () => {
    expect(parseVideoTagBody(h("91 'hvc1' fffff6 00000001 26"))).toMatchObject({
      codec: 'hvc1',
      compositionTime: -10,
      dataOffset: 8,
      dataLength: 5,
    });
    expect(parseVideoTagBody(h("a1 'av01' 12 00"))).toMatchObject({
      compositionTime: 0,
      dataOffset: 5,
      keyframe: false,
    });
    expect(parseVideoTagBody(h("93 'avc1' 00000001 65"))).toMatchObject({
      packetType: 3,
      compositionTime: 0,
      dataOffset: 5,
    });
    expect(codeOf(() => parseVideoTagBody(h("91 'avc1' 0000")))).toBe('FLV_BAD_TAG');
    expect(parseVideoTagBody(h("91 'xyz1' 00"))).toMatchObject({ codec: 'other', fourcc: 0x78797a31 });
  });

  it('command frames have a UI8 command and no FourCC', () => {
    expect(parseVideoTagBody(h('d1 00'))).toMatchObject({
      isCommand: true,
      command: 0,
      tracks: [],
      dataOffset: 1,
    });
  });

  it('ModEx: TimestampOffsetNano, 16-bit sizes, chained ModEx', () => {
    const nano = parseVideoTagBody(h("97 02 0f423f 01 'avc1' 000021 aa"));
    expect(nano).toMatchObject({
      codec: 'avc1',
      packetType: 1,
      timestampNanoOffset: 999999,
      compositionTime: 33,
    });
    expect(nano).toMatchObject({ dataOffset: 13, dataLength: 1, keyframe: true });
    const big = Buffer.concat([h('97 ff 0100'), Buffer.alloc(257, 7), h("13 'av01' bb")]);
    expect(parseVideoTagBody(big)).toMatchObject({
      packetType: 3,
      dataOffset: big.length - 1,
      dataLength: 1,
    });
    expect(parseVideoTagBody(h("97 00 ee 17 02 000001 00 'av01'"))).toMatchObject({
      timestampNanoOffset: 1,
      isSequenceHeader: true,
    });
    expect(codeOf(() => parseVideoTagBody(h("97 01 0001 01 'avc1'")))).toBe('FLV_BAD_TAG');
  });

  it('Multitrack: OneTrack, ManyTracks, ManyTracksManyCodecs', () => {
    const one = parseVideoTagBody(h("96 00 'av01' 02 0a0b"));
    expect(one).toMatchObject({
      multitrack: true,
      codec: 'av01',
      isSequenceHeader: true,
      trackId: 2,
      dataOffset: 7,
    });
    expect(one.dataLength).toBe(2);
    const many = parseVideoTagBody(h("96 11 'hvc1' 00 000005 000002 aabb 01 000004 000000 cc"));
    expect(many.tracks).toEqual([
      { trackId: 0, fourcc: FourCC.hvc1, compositionTime: 2, dataOffset: 13, dataLength: 2 },
      { trackId: 1, fourcc: FourCC.hvc1, compositionTime: 0, dataOffset: 22, dataLength: 1 },
    ]);
    expect(many).toMatchObject({ compositionTime: 2, dataOffset: 13, dataLength: 2 });
    const mixed = parseVideoTagBody(h("96 21 'avc1' 00 000004 000001 dd 'av01' 01 000002 eeff"));
    expect(mixed.tracks.map((t) => [t.fourcc, t.trackId, t.compositionTime, t.dataLength])).toEqual([
      [FourCC.avc1, 0, 1, 1],
      [FourCC.av01, 1, 0, 2],
    ]);
    expect(mixed).toMatchObject({ codec: 'avc1', multitrack: true });
  });

  it('rejects reserved/invalid signalling with FLV_BAD_TAG', () => {
    for (const bad of [
      "98 'av01'", // reserved packet type 8
      "96 31 'av01' 00", // reserved AvMultitrackType 3
      "96 06 'av01' 00", // nested Multitrack
      "96 11 'av01' 00 000009 00", // track size beyond the body
      "96 11 'av01'", // no track at all
    ]) {
      expect(
        codeOf(() => parseVideoTagBody(h(bad))),
        bad,
      ).toBe('FLV_BAD_TAG');
    }
  });
});

describe('parseAudioTagBody', () => {
  it('legacy AAC, MP3, PCM, SRS Opus, silence', () => {
    expect(parseAudioTagBody(h('af 00 1190'))).toMatchObject({
      codec: 'mp4a',
      soundFormat: 10,
      isSequenceHeader: true,
      dataOffset: 2,
      dataLength: 2,
    });
    expect(parseAudioTagBody(h('af 01 21'))).toMatchObject({ isSequenceHeader: false, packetType: 1 });
    expect(parseAudioTagBody(h('2f fffb'))).toMatchObject({ codec: '.mp3', dataOffset: 1, packetType: 1 });
    expect(parseAudioTagBody(h('3e 0000'))).toMatchObject({ codec: 'pcm' });
    expect(parseAudioTagBody(h('72 d5'))).toMatchObject({ codec: 'other', soundFormat: 7 });
    expect(parseAudioTagBody(h("df 00 'OpusHead'"))).toMatchObject({
      codec: 'Opus',
      isSequenceHeader: true,
      dataOffset: 2,
    });
    expect(parseAudioTagBody(Buffer.alloc(0))).toMatchObject({
      isSilence: true,
      soundFormat: -1,
      dataLength: 0,
    });
    expect(codeOf(() => parseAudioTagBody(h('af')))).toBe('FLV_BAD_TAG');
  });

  it('E-RTMP: SequenceStart, CodedFrames, SequenceEnd, MultichannelConfig', () => {
    expect(parseAudioTagBody(h("90 'Opus' 'OpusHead'"))).toMatchObject({
      codec: 'Opus',
      enhanced: true,
      soundFormat: 9,
      isSequenceHeader: true,
      dataOffset: 5,
    });
    expect(parseAudioTagBody(h("91 'fLaC' fff8"))).toMatchObject({
      codec: 'fLaC',
      packetType: 1,
      dataLength: 2,
    });
    expect(parseAudioTagBody(h("92 'ac-3'"))).toMatchObject({ codec: 'ac-3', isSequenceEnd: true });
    expect(parseAudioTagBody(h("94 'Opus' 01 06 0000003f"))).toMatchObject({
      packetType: 4,
      multichannel: { order: 1, channels: 6, mask: 0x3f },
    });
    expect(parseAudioTagBody(h("94 'Opus' 02 02 0001")).multichannel).toEqual({
      order: 2,
      channels: 2,
      mapping: [0, 1],
    });
    expect(parseAudioTagBody(h("94 'mp4a' 00 02")).multichannel).toEqual({ order: 0, channels: 2 });
    expect(codeOf(() => parseAudioTagBody(h("94 'Opus' 01 06 0000")))).toBe('FLV_BAD_TAG');
  });

  it('E-RTMP: ModEx and Multitrack audio', () => {
    expect(parseAudioTagBody(h("97 02 000100 01 'mp4a' 21"))).toMatchObject({
      timestampNanoOffset: 256,
      codec: 'mp4a',
    });
    const mt = parseAudioTagBody(h("95 11 'Opus' 00 000002 aabb 01 000001 cc"));
    expect(mt).toMatchObject({ multitrack: true, trackId: 0, dataOffset: 10, dataLength: 2 });
    expect(mt.tracks.map((t) => [t.trackId, t.dataOffset, t.dataLength])).toEqual([
      [0, 10, 2],
      [1, 16, 1],
    ]);
    const mixed = parseAudioTagBody(h("95 20 'mp4a' 00 000002 1190 'Opus' 01 000000"));
    expect(mixed.tracks.map((t) => t.fourcc)).toEqual([FourCC.mp4a, FourCC.Opus]);
    expect(mixed).toMatchObject({ isSequenceHeader: true, codec: 'mp4a' });
    for (const bad of ["93 'Opus'", "96 'Opus'", "95 05 'Opus' 00", "95 41 'Opus' 00"]) {
      expect(
        codeOf(() => parseAudioTagBody(h(bad))),
        bad,
      ).toBe('FLV_BAD_TAG');
    }
  });
});
