import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { FlvReader } from '../formats/flv/flv-reader.js';
import { flvHeader } from '../formats/flv/flv-writer.js';
import { ChunkDecoder } from '../protocols/rtmp/chunk-decoder.js';
import { encodeMessage } from '../protocols/rtmp/chunk-encoder.js';
import { setChunkSize } from '../protocols/rtmp/control.js';
import type { RtmpMessage } from '../protocols/rtmp/message.js';
import { Frame, type FrameType, PLAY_STREAM_ID } from './frame.js';

/** Decode a frame's chunks as a player would after the server's Set Chunk Size. */
function decodeRtmp(bytes: Buffer, chunkSize: number): RtmpMessage[] {
  const d = new ChunkDecoder();
  const ctl = d.push(encodeMessage(setChunkSize(chunkSize), 128));
  expect(ctl).toHaveLength(1);
  return d.push(bytes);
}

function readFlv(tag: Buffer) {
  const r = new FlvReader();
  const tags = r.push(Buffer.concat([flvHeader({ audio: true, video: true }), tag]));
  expect(r.prevTagSizeMismatches).toBe(0);
  return tags;
}

const body = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 7) & 0xff));

describe('Frame', () => {
  it('knows its kind', () => {
    expect(new Frame(9, 0, body(1)).isVideo).toBe(true);
    expect(new Frame(9, 0, body(1)).isAudio).toBe(false);
    expect(new Frame(8, 0, body(1)).isAudio).toBe(true);
    expect(new Frame(18, 0, body(1)).isVideo).toBe(false);
    expect(new Frame(8, 0, body(1)).flags).toEqual({ keyframe: false, sequenceHeader: false });
  });

  it('rtmp(chunkSize) is made once and shared (same instance on repeated calls)', () => {
    const f = new Frame(9, 40, body(5000));
    const a = f.rtmp(4096);
    expect(f.rtmp(4096)).toBe(a);
    const small = f.rtmp(128);
    expect(small).not.toBe(a);
    expect(small.length).toBeGreaterThan(a.length); // more chunk headers
    expect(f.rtmp(128)).toBe(small);
  });

  it('rtmp() decodes back to one message on msid 1 with the frame’s timestamp and body', () => {
    for (const [type, csid] of [
      [9, 7],
      [8, 6],
      [18, 5],
    ] as const) {
      const f = new Frame(type, 12_345, body(9000));
      for (const size of [128, 4096, 65536]) {
        const msgs = decodeRtmp(f.rtmp(size), size);
        expect(msgs).toHaveLength(1);
        expect(msgs[0]).toMatchObject({ csid, type, streamId: PLAY_STREAM_ID, timestamp: 12_345 });
        expect(msgs[0].payload.equals(f.body)).toBe(true);
      }
    }
  });

  it('rtmp() carries the timestamp modulo 2^32, with the extended field when needed', () => {
    const wrapped = new Frame(9, 2 ** 32 + 5000, body(300));
    expect(decodeRtmp(wrapped.rtmp(128), 128)[0].timestamp).toBe(5000);
    const big = new Frame(8, 0x12345678, body(300));
    expect(decodeRtmp(big.rtmp(128), 128)[0].timestamp).toBe(0x12345678);
    const both = new Frame(8, 3 * 2 ** 32 + 0xfffffff0, body(10));
    expect(decodeRtmp(both.rtmp(4096), 4096)[0].timestamp).toBe(0xfffffff0);
  });

  it('property: rtmp() round-trips any type, timestamp, size and chunk size', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<FrameType>(8, 9, 18),
        fc.integer({ min: 0, max: 2 ** 40 }),
        fc.integer({ min: 0, max: 3000 }),
        fc.constantFrom(128, 129, 1000, 4096),
        (type, ts, n, size) => {
          const f = new Frame(type, ts, body(n));
          const msgs = decodeRtmp(f.rtmp(size), size);
          expect(msgs).toHaveLength(1);
          expect(msgs[0].timestamp).toBe(ts % 2 ** 32);
          expect(msgs[0].streamId).toBe(1);
          expect(msgs[0].payload.equals(f.body)).toBe(true);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('flv() is one valid tag with PreviousTagSize, made once', () => {
    const f = new Frame(9, 2 ** 32 + 0x01020304, body(777));
    const tag = f.flv();
    expect(f.flv()).toBe(tag);
    expect(tag.length).toBe(11 + 777 + 4);
    expect(tag.readUInt32BE(tag.length - 4)).toBe(11 + 777);
    const tags = readFlv(tag);
    expect(tags).toHaveLength(1);
    expect(tags[0].type).toBe(9);
    expect(tags[0].timestamp).toBe(0x01020304);
    expect(tags[0].body.equals(f.body)).toBe(true);
  });

  it('flv() of audio and data frames, including an empty body', () => {
    const a = readFlv(new Frame(8, 23, body(0)).flv());
    expect(a[0]).toMatchObject({ type: 8, timestamp: 23 });
    expect(a[0].body.length).toBe(0);
    const d = readFlv(new Frame(18, 0, body(10)).flv());
    expect(d[0].type).toBe(18);
  });

  it('cached() makes each encoding once per key', () => {
    const f = new Frame(8, 0, body(10));
    const make = vi.fn((fr: Frame) => Buffer.concat([Buffer.from('ws:'), fr.body]));
    const a = f.cached('ws-flv', make);
    expect(f.cached('ws-flv', make)).toBe(a);
    expect(make).toHaveBeenCalledTimes(1);
    expect(make).toHaveBeenCalledWith(f);
    const other = vi.fn(() => Buffer.from('other'));
    const b = f.cached('other', other);
    expect(b).not.toBe(a);
    expect(b.toString()).toBe('other');
    expect(other).toHaveBeenCalledTimes(1);
    expect(f.cached('ws-flv', make)).toBe(a);
    // another frame has its own cache
    const g = new Frame(8, 0, body(10));
    expect(g.cached('ws-flv', make)).not.toBe(a);
    expect(make).toHaveBeenCalledTimes(2);
  });
});
