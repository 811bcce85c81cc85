import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FourCC, parseAudioTagBody, parseVideoTagBody } from '../formats/flv/tag-body.js';
import {
  aacFrame,
  aacSequenceHeader,
  avcFrame,
  avcSequenceHeader,
  exVideoCodedFrames,
  exVideoSequenceStart,
  opusFrame,
  opusSequenceStart,
} from './tag-builder.js';

const payload = (b: Buffer, info: { dataOffset: number; dataLength: number }) =>
  b.subarray(info.dataOffset, info.dataOffset + info.dataLength);

describe('tag bodies built for a publisher parse back with parseVideoTagBody / parseAudioTagBody', () => {
  it('E-RTMP hvc1 SequenceStart: 0x90, FourCC, the hvcC record', () => {
    const hvcC = Buffer.from([1, 2, 3, 4]);
    const b = exVideoSequenceStart('hvc1', hvcC);
    expect(b.subarray(0, 5)).toEqual(Buffer.from([0x90, 0x68, 0x76, 0x63, 0x31]));
    const info = parseVideoTagBody(b);
    expect(info).toMatchObject({
      enhanced: true,
      codec: 'hvc1',
      isSequenceHeader: true,
      fourcc: FourCC.hvc1,
    });
    expect(payload(b, info)).toEqual(hvcC);
  });

  it('E-RTMP hvc1 CodedFrames: key/inter frame type, SI24 composition time, the NAL units', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.integer({ min: -0x800000, max: 0x7fffff }),
        fc.uint8Array(),
        (key, cts, d) => {
          const data = Buffer.from(d);
          const b = exVideoCodedFrames('hvc1', key, cts, data);
          expect(b[0]).toBe(key ? 0x91 : 0xa1);
          const info = parseVideoTagBody(b);
          expect(info).toMatchObject({
            codec: 'hvc1',
            keyframe: key,
            isSequenceHeader: false,
            compositionTime: cts,
          });
          expect(payload(b, info)).toEqual(data);
        },
      ),
    );
  });

  it('rejects a composition time that does not fit SI24', () => {
    expect(() => exVideoCodedFrames('hvc1', true, 0x800000, Buffer.alloc(1))).toThrow(RangeError);
    expect(() => avcFrame(true, -0x800001, Buffer.alloc(1))).toThrow(RangeError);
    expect(() => exVideoCodedFrames('av01', true, 5, Buffer.alloc(1))).toThrow(RangeError);
  });

  it('legacy AVC: 0x17 00 + avcC, 0x27 01 + SI24 + NAL units', () => {
    const h = avcSequenceHeader(Buffer.from([1, 0x64]));
    expect(h.subarray(0, 5)).toEqual(Buffer.from([0x17, 0, 0, 0, 0]));
    expect(parseVideoTagBody(h)).toMatchObject({ enhanced: false, codec: 'avc1', isSequenceHeader: true });
    const f = avcFrame(false, -40, Buffer.from([0, 0, 0, 1, 9]));
    expect(parseVideoTagBody(f)).toMatchObject({
      codec: 'avc1',
      keyframe: false,
      compositionTime: -40,
      dataLength: 5,
    });
  });

  it('legacy AAC: 0xAF 00 + ASC, 0xAF 01 + raw frame', () => {
    const asc = Buffer.from([0x12, 0x10]);
    const h = aacSequenceHeader(asc);
    expect(h).toEqual(Buffer.from([0xaf, 0, 0x12, 0x10]));
    expect(parseAudioTagBody(h)).toMatchObject({ codec: 'mp4a', isSequenceHeader: true });
    const f = aacFrame(Buffer.from([0x21, 0x1a]));
    const info = parseAudioTagBody(f);
    expect(info).toMatchObject({ codec: 'mp4a', isSequenceHeader: false });
    expect(payload(f, info)).toEqual(Buffer.from([0x21, 0x1a]));
  });

  it('E-RTMP Opus: SequenceStart with the OpusHead, CodedFrames with one packet', () => {
    const head = Buffer.from('OpusHead\x01\x02\x38\x01\x80\xbb\x00\x00\x00\x00\x00', 'latin1');
    const h = opusSequenceStart(head);
    const hi = parseAudioTagBody(h);
    expect(hi).toMatchObject({ enhanced: true, codec: 'Opus', isSequenceHeader: true });
    expect(payload(h, hi)).toEqual(head);
    const f = opusFrame(Buffer.from([0xfc, 1]));
    expect(parseAudioTagBody(f)).toMatchObject({ codec: 'Opus', isSequenceHeader: false, dataLength: 2 });
  });
});
