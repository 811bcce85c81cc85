import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { ChunkDecoder } from './chunk-decoder.js';
import { ChunkEncoder, encodeMessage, encodeMessages } from './chunk-encoder.js';
import { MessageType, type RtmpMessage } from './message.js';

type Part = number | number[] | Buffer;
const bytes = (...parts: Part[]): Buffer =>
  Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(typeof p === 'number' ? [p] : p))));
const u24 = (n: number) => [(n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const u32le = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const data = (n: number, seed = 0) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed + 0x41) & 0xff));
function msg(csid: number, type: number, streamId: number, timestamp: number, payload: Buffer): RtmpMessage {
  return { csid, type, streamId, timestamp, payload };
}
const setChunkSize = (n: number) => msg(2, MessageType.SetChunkSize, 0, 0, Buffer.from(u32(n)));

function expectCode(fn: () => unknown, code: string): void {
  expect(fn).toThrowError(TidecastError);
  expect(fn).toThrowError(expect.objectContaining({ code }));
}

describe('encodeMessage (stateless)', () => {
  it('§5.3.2.2 example 2: fmt 0 then fmt 3 continuations', () => {
    const v = data(307);
    expect(encodeMessage(msg(4, 9, 12346, 1000, v), 128)).toEqual(
      bytes(
        bytes(0x04, u24(1000), u24(307), 9, u32le(12346), v.subarray(0, 128)),
        bytes(0xc4, v.subarray(128, 256)),
        bytes(0xc4, v.subarray(256)),
      ),
    );
  });

  it('uses 1-, 2- and 3-byte basic headers (§5.3.1.1)', () => {
    const head = (csid: number) => [...encodeMessage(msg(csid, 8, 1, 0, data(200)), 128).subarray(0, 3)];
    expect(head(3)[0]).toBe(0x03);
    expect(head(64).slice(0, 2)).toEqual([0x00, 0x00]);
    expect(head(319).slice(0, 2)).toEqual([0x00, 0xff]);
    expect(head(320)).toEqual([0x01, 0x00, 0x01]);
    expect(head(365)).toEqual([0x01, 0x2d, 0x01]);
    expect(head(65599)).toEqual([0x01, 0xff, 0xff]);
    // continuation headers use the same form
    const c = encodeMessage(msg(365, 8, 1, 0, data(200)), 128);
    expect([...c.subarray(3 + 11 + 128, 3 + 11 + 128 + 3)]).toEqual([0xc1, 0x2d, 0x01]);
  });

  it('writes the extended timestamp on fmt 0 and on every fmt 3 chunk', () => {
    const v = data(300);
    const ext = u32(0x01000000);
    expect(encodeMessage(msg(6, 9, 1, 0x01000000, v), 128)).toEqual(
      bytes(
        bytes(0x06, 0xff, 0xff, 0xff, u24(300), 9, u32le(1), ext, v.subarray(0, 128)),
        bytes(0xc6, ext, v.subarray(128, 256)),
        bytes(0xc6, ext, v.subarray(256)),
      ),
    );
    // 0xFFFFFF itself is already extended (§5.3.1.2.1 ">= 16777215")
    expect([...encodeMessage(msg(6, 9, 1, 0xffffff, data(1)), 128).subarray(1, 4)]).toEqual([
      0xff, 0xff, 0xff,
    ]);
  });

  it('encodes zero-length messages and concatenates in encodeMessages', () => {
    const empty = msg(3, 20, 0, 5, Buffer.alloc(0));
    expect(encodeMessage(empty, 128)).toEqual(bytes(0x03, u24(5), u24(0), 20, u32le(0)));
    const list = [empty, msg(70, 9, 1, 0x12345678, data(500)), msg(3, 8, 1, 7, data(3))];
    expect(encodeMessages(list, 100)).toEqual(Buffer.concat(list.map((m) => encodeMessage(m, 100))));
    expect(encodeMessages([], 128)).toEqual(Buffer.alloc(0));
  });

  it('validates chunk size and message fields', () => {
    const m = msg(3, 8, 1, 0, data(4));
    for (const n of [0, 0x1000000, 1.5, Number.NaN])
      expectCode(() => encodeMessage(m, n), 'RTMP_BAD_CHUNK_SIZE');
    expectCode(() => new ChunkEncoder(0), 'RTMP_BAD_CHUNK_SIZE');
    expectCode(() => new ChunkEncoder().setChunkSize(0x1000000), 'RTMP_BAD_CHUNK_SIZE');
    expectCode(() => encodeMessage({ ...m, csid: 1 }, 128), 'RTMP_BAD_CHUNK_HEADER');
    expectCode(() => encodeMessage({ ...m, csid: 65600 }, 128), 'RTMP_BAD_CHUNK_HEADER');
    expectCode(() => encodeMessage({ ...m, type: 256 }, 128), 'RTMP_BAD_CHUNK_HEADER');
    expectCode(() => encodeMessages([m, { ...m, streamId: -1 }], 128), 'RTMP_BAD_CHUNK_HEADER');
    const huge = { ...m, payload: Buffer.alloc(0x1000000) };
    expectCode(() => encodeMessage(huge, 128), 'RTMP_MESSAGE_TOO_LARGE');
  });
});

describe('ChunkEncoder (stateful)', () => {
  it('§5.3.2.1 example 1: fmt 0, fmt 2, fmt 3, fmt 3', () => {
    const enc = new ChunkEncoder();
    const a = [data(32, 1), data(32, 2), data(32, 3), data(32, 4)];
    const out = [1000, 1020, 1040, 1060].map((ts, i) => enc.encode(msg(3, 8, 12345, ts, a[i])));
    expect(out).toEqual([
      bytes(0x03, u24(1000), u24(32), 8, u32le(12345), a[0]),
      bytes(0x83, u24(20), a[1]),
      bytes(0xc3, a[2]),
      bytes(0xc3, a[3]),
    ]);
  });

  it('uses fmt 1 on a new length/type, fmt 0 on a new msid or a backwards timestamp', () => {
    const enc = new ChunkEncoder(128);
    expect(enc.encode(msg(6, 9, 1, 100, data(2)))[0]).toBe(0x06);
    expect(enc.encode(msg(6, 9, 1, 133, data(5)))).toEqual(bytes(0x46, u24(33), u24(5), 9, data(5)));
    expect(enc.encode(msg(6, 8, 1, 166, data(5)))[0]).toBe(0x46);
    expect(enc.encode(msg(6, 8, 2, 199, data(5)))[0]).toBe(0x06);
    expect(enc.encode(msg(6, 8, 2, 150, data(5)))[0]).toBe(0x06);
  });

  it('extended delta on fmt 2 is repeated on continuations and on fmt-3 new messages', () => {
    const enc = new ChunkEncoder(4);
    enc.encode(msg(5, 9, 1, 0, data(6)));
    const ext = u32(0x01000000);
    const d = data(6, 1);
    expect(enc.encode(msg(5, 9, 1, 0x01000000, d))).toEqual(
      bytes(0x85, 0xff, 0xff, 0xff, ext, d.subarray(0, 4), 0xc5, ext, d.subarray(4)),
    );
    expect(enc.encode(msg(5, 9, 1, 0x02000000, d))).toEqual(
      bytes(0xc5, ext, d.subarray(0, 4), 0xc5, ext, d.subarray(4)),
    );
  });
});

describe('encode -> decode round trip', () => {
  const csid = fc.oneof(
    fc.integer({ min: 2, max: 63 }),
    fc.integer({ min: 64, max: 319 }),
    fc.integer({ min: 320, max: 65599 }),
  );
  // Types 1 and 2 change the decoder's parsing state; the stream's own Set Chunk Size covers them.
  const type = fc.integer({ min: 3, max: 255 });
  const timestamp = fc.oneof(
    fc.integer({ min: 0, max: 0xffffffff }),
    fc.integer({ min: 0xffff00, max: 0x1000100 }),
    fc.nat(5000),
  );
  const payload = fc.uint8Array({ maxLength: 5000 }).map((a) => Buffer.from(a));
  const streamId = fc.oneof(fc.constantFrom(0, 1), fc.integer({ min: 0, max: 0xffffffff }));
  const message = fc.record({ csid, type, streamId, timestamp, payload });
  const chunkSize = fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: 70000 }));
  const cuts = fc.array(fc.nat(), { maxLength: 6 });

  function decodeInPieces(stream: Buffer, points: number[]): RtmpMessage[] {
    const d = new ChunkDecoder();
    const sorted = [...points.map((p) => p % (stream.length + 1)), stream.length].sort((a, b) => a - b);
    let prev = 0;
    const out: RtmpMessage[] = [];
    for (const p of sorted) {
      out.push(...d.push(stream.subarray(prev, p)));
      prev = p;
    }
    return out;
  }

  it('stateless encodeMessages round-trips through ChunkDecoder', () => {
    fc.assert(
      fc.property(fc.array(message, { maxLength: 8 }), chunkSize, cuts, (msgs, size, points) => {
        const stream = Buffer.concat([encodeMessage(setChunkSize(size), 128), encodeMessages(msgs, size)]);
        expect(decodeInPieces(stream, points)).toEqual([setChunkSize(size), ...msgs]);
      }),
      { numRuns: 200 },
    );
  });

  it('stateful ChunkEncoder (fmt 1/2/3, chunk size changes mid-stream) round-trips', () => {
    // Few csids/msids/lengths and repeating deltas so that every header format gets exercised.
    const step = fc.oneof(
      fc.record({
        csid: fc.constantFrom(3, 4, 300),
        type: fc.constantFrom(8, 9, 20),
        streamId: fc.constantFrom(0, 1),
        delta: fc.constantFrom(0, 20, 33, 0xffffff, 0x1000000, 0xfffffff0),
        payload: fc.oneof(fc.constantFrom(0, 1, 7, 300), fc.nat(3000)).map((n) => data(n, n)),
      }),
      chunkSize.map((size) => ({ size })),
    );
    fc.assert(
      fc.property(fc.array(step, { maxLength: 25 }), timestamp, cuts, (steps, start, points) => {
        const enc = new ChunkEncoder();
        const expected: RtmpMessage[] = [];
        const parts: Buffer[] = [];
        const last = new Map<number, number>();
        for (const s of steps) {
          let m: RtmpMessage;
          if ('size' in s) {
            m = setChunkSize(s.size);
          } else {
            const ts = ((last.get(s.csid) ?? start) + s.delta) >>> 0;
            last.set(s.csid, ts);
            m = msg(s.csid, s.type, s.streamId, ts, s.payload);
          }
          parts.push(enc.encode(m));
          if ('size' in s) enc.setChunkSize(s.size);
          expected.push(m);
        }
        expect(decodeInPieces(Buffer.concat(parts), points)).toEqual(expected);
      }),
      { numRuns: 300 },
    );
  });
});
