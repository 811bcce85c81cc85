import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { TidecastError } from '../../errors.js';
import { ChunkDecoder } from './chunk-decoder.js';
import { encodeMessages } from './chunk-encoder.js';
import type { ChunkLimits, RtmpMessage } from './message.js';

// Hand-written byte fixtures (RTMP 1.0 §5.3). Helpers only spell out multi-byte integer fields.
type Part = number | number[] | Buffer;
const bytes = (...parts: Part[]): Buffer =>
  Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(typeof p === 'number' ? [p] : p))));
const u24 = (n: number) => [(n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const u32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const u32le = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
/** Deterministic payload whose first bytes never look like the extended timestamps used below. */
const data = (n: number, seed = 0) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 7 + seed + 0x41) & 0xff));
function msg(csid: number, type: number, streamId: number, timestamp: number, payload: Buffer): RtmpMessage {
  return { csid, type, streamId, timestamp, payload };
}

function decode(pieces: Buffer[], limits?: Partial<ChunkLimits>): RtmpMessage[] {
  const d = new ChunkDecoder(limits);
  return pieces.flatMap((p) => d.push(p));
}

/** Every fixture must decode identically whole, split at every offset, and fed one byte at a time. */
function expectDecodes(fixture: Buffer, expected: RtmpMessage[]): void {
  expect(decode([fixture])).toEqual(expected);
  for (let i = 0; i <= fixture.length; i++) {
    expect(decode([fixture.subarray(0, i), fixture.subarray(i)])).toEqual(expected);
  }
  const single = Array.from({ length: fixture.length }, (_, i) => fixture.subarray(i, i + 1));
  expect(decode(single)).toEqual(expected);
}

function expectCode(fn: () => unknown, code: string): void {
  expect(fn).toThrowError(TidecastError);
  expect(fn).toThrowError(expect.objectContaining({ code }));
}

const audio = [data(32, 1), data(32, 2), data(32, 3), data(32, 4)];
const video307 = data(307, 9);

describe('ChunkDecoder fixtures', () => {
  it('§5.3.2.1 example 1: fmt 0, fmt 2, then bare fmt 3 headers re-applying the delta', () => {
    const chunks = [
      bytes(0x03, u24(1000), u24(32), 8, u32le(12345), audio[0]),
      bytes(0x83, u24(20), audio[1]),
      bytes(0xc3, audio[2]),
      bytes(0xc3, audio[3]),
    ];
    expect(chunks.map((c) => c.length)).toEqual([44, 36, 33, 33]);
    expectDecodes(
      Buffer.concat(chunks),
      [1000, 1020, 1040, 1060].map((ts, i) => msg(3, 8, 12345, ts, audio[i])),
    );
  });

  it('§5.3.2.2 example 2: a 307-byte video message in 128-byte chunks', () => {
    const chunks = [
      bytes(0x04, u24(1000), u24(307), 9, u32le(12346), video307.subarray(0, 128)),
      bytes(0xc4, video307.subarray(128, 256)),
      bytes(0xc4, video307.subarray(256)),
    ];
    expect(chunks.map((c) => c.length)).toEqual([140, 129, 52]);
    expectDecodes(Buffer.concat(chunks), [msg(4, 9, 12346, 1000, video307)]);
  });

  it('1-, 2- and 3-byte basic headers (§5.3.1.1)', () => {
    const cases: [number, number[]][] = [
      [3, [0x03]],
      [63, [0x3f]],
      [64, [0x00, 0x00]],
      [319, [0x00, 0xff]],
      [320, [0x01, 0x00, 0x01]],
      [365, [0x01, 0x2d, 0x01]], // the spec's "ID 365 -> 1 and 301"
      [65599, [0x01, 0xff, 0xff]],
    ];
    const fixture = Buffer.concat(
      cases.map(([, bh], i) => bytes(bh, u24(i), u24(5), 18, u32le(1), data(5, i))),
    );
    expectDecodes(
      fixture,
      cases.map(([csid], i) => msg(csid, 18, 1, i, data(5, i))),
    );
  });

  it('300-byte video at chunk size 128: fmt 0 + two fmt 3 continuations', () => {
    const v = data(300, 3);
    const fixture = bytes(
      0x06,
      u24(40),
      u24(300),
      9,
      u32le(1),
      v.subarray(0, 128),
      0xc6,
      v.subarray(128, 256),
    );
    expectDecodes(bytes(fixture, 0xc6, v.subarray(256)), [msg(6, 9, 1, 40, v)]);
  });

  describe('extended timestamp 0x01000000', () => {
    const ext = u32(0x01000000);
    const a = data(200, 5);
    const b = data(200, 6);
    const expected = [msg(6, 9, 1, 0x01000000, a), msg(6, 9, 1, 0x02000000, b)];
    const head = bytes(0x06, 0xff, 0xff, 0xff, u24(200), 9, u32le(1), ext, a.subarray(0, 128));
    it('with the 4 bytes on every fmt-3 chunk (FMS, ffmpeg, SRS)', () => {
      const tail = bytes(
        0xc6,
        ext,
        a.subarray(128),
        0xc6,
        ext,
        b.subarray(0, 128),
        0xc6,
        ext,
        b.subarray(128),
      );
      expectDecodes(bytes(head, tail), expected);
    });
    it('without them on fmt-3 chunks (librtmp, OBS before PR #10097)', () => {
      const tail = bytes(0xc6, a.subarray(128), 0xc6, b.subarray(0, 128), 0xc6, b.subarray(128));
      expectDecodes(bytes(head, tail), expected);
    });
    it('fmt-1 extended delta; a continuation carrying the absolute timestamp is accepted too', () => {
      const c = data(130, 7);
      const fixture = bytes(
        bytes(0x06, u24(0xfffff0), u24(1), 9, u32le(1), 0x11),
        bytes(0x46, 0xff, 0xff, 0xff, u24(130), 9, ext, c.subarray(0, 128)),
        bytes(0xc6, u32(0x01fffff0), c.subarray(128)),
      );
      expectDecodes(fixture, [msg(6, 9, 1, 0xfffff0, Buffer.from([0x11])), msg(6, 9, 1, 0x01fffff0, c)]);
    });
  });

  it('applies Set Chunk Size inside the same push (top bit cleared) before the next header', () => {
    const big = data(1000, 8);
    const fixture = bytes(
      bytes(0x02, u24(0), u24(4), 1, u32le(0), u32(0x80001000)),
      bytes(0x06, u24(0), u24(1000), 9, u32le(1), big),
    );
    expectDecodes(fixture, [msg(2, 1, 0, 0, Buffer.from(u32(0x80001000))), msg(6, 9, 1, 0, big)]);
    const d = new ChunkDecoder();
    d.push(fixture);
    expect(d.chunkSize).toBe(0x1000);
    expect(d.bytesReceived).toBe(fixture.length);
  });

  it('Abort drops the partial message so a new fmt 0 may follow', () => {
    const v = data(300, 2);
    const first = bytes(0x06, u24(0), u24(300), 9, u32le(1), v.subarray(0, 128));
    const abort = bytes(0x02, u24(0), u24(4), 2, u32le(0), u32(6));
    const fresh = bytes(0x06, u24(33), u24(3), 9, u32le(1), [1, 2, 3]);
    expectDecodes(bytes(first, abort, fresh), [
      msg(2, 2, 0, 0, Buffer.from(u32(6))),
      msg(6, 9, 1, 33, Buffer.from([1, 2, 3])),
    ]);
    expectCode(() => decode([bytes(first, fresh)]), 'RTMP_BAD_CHUNK_HEADER');
  });

  it('fmt 3 after fmt 0 re-applies the fmt-0 timestamp as delta (SRS: 0x04 ts 26, 0xC4 -> 52)', () => {
    const fixture = bytes(0x04, u24(26), u24(2), 8, u32le(1), [0xaf, 1], 0xc4, [0xaf, 2], 0xc4, [0xaf, 3]);
    expectDecodes(fixture, [
      msg(4, 8, 1, 26, Buffer.from([0xaf, 1])),
      msg(4, 8, 1, 52, Buffer.from([0xaf, 2])),
      msg(4, 8, 1, 78, Buffer.from([0xaf, 3])),
    ]);
  });

  it('first chunk on a never-seen csid may be fmt 1 (librtmp ping on csid 2): state reads as zeros', () => {
    const ping = [0, 6, 0, 0, 0x12, 0x34];
    expectDecodes(bytes(0x42, u24(7), u24(6), 4, ping), [msg(2, 4, 0, 7, Buffer.from(ping))]);
  });

  it('interleaves chunks of different csids', () => {
    const v = data(200, 1);
    const s = data(150, 2);
    const fixture = bytes(
      bytes(0x06, u24(100), u24(200), 9, u32le(1), v.subarray(0, 128)),
      bytes(0x04, u24(90), u24(150), 8, u32le(1), s.subarray(0, 128)),
      bytes(0xc6, v.subarray(128)),
      bytes(0xc4, s.subarray(128)),
    );
    expectDecodes(fixture, [msg(6, 9, 1, 100, v), msg(4, 8, 1, 90, s)]);
  });

  it('wraps timestamps modulo 2^32 and handles zero-length messages', () => {
    const fixture = bytes(
      bytes(0x05, 0xff, 0xff, 0xff, u24(0), 18, u32le(1), u32(0xfffffff0)),
      bytes(0x85, u24(0x20)),
      bytes(0xc5),
    );
    const empty = Buffer.alloc(0);
    expectDecodes(fixture, [
      msg(5, 18, 1, 0xfffffff0, empty),
      msg(5, 18, 1, 0x10, empty),
      msg(5, 18, 1, 0x30, empty),
    ]);
  });
});

describe('ChunkDecoder errors and limits', () => {
  afterEach(() => vi.restoreAllMocks());

  it('rejects a 0xFFFFFF-byte header under a 1 MiB cap before allocating', () => {
    const spy = vi.spyOn(Buffer, 'allocUnsafe');
    const d = new ChunkDecoder({ maxMessageBytes: 1 << 20 });
    expectCode(() => d.push(bytes(0x06, u24(0), u24(0xffffff), 9, u32le(1))), 'RTMP_MESSAGE_TOO_LARGE');
    expect(spy.mock.calls.every(([n]) => n < 1 << 20)).toBe(true);
  });

  it('caps bytes buffered across partial messages', () => {
    const two = bytes(
      bytes(0x06, u24(0), u24(600), 9, u32le(1), data(128)),
      bytes(0x07, u24(0), u24(600), 9, u32le(1), data(128)),
    );
    expectCode(() => decode([two], { maxBufferedBytes: 1000 }), 'RTMP_BUFFER_LIMIT');
    expect(decode([two], { maxBufferedBytes: 1200 })).toEqual([]);
  });

  it('caps the number of chunk streams with state', () => {
    const one = (csid: number) => bytes(csid, u24(0), u24(1), 8, u32le(1), 0);
    expect(decode([one(3), one(4), one(5)], { maxChunkStreams: 3 })).toHaveLength(3);
    expectCode(
      () => decode([one(3), one(4), one(5), one(6)], { maxChunkStreams: 3 }),
      'RTMP_TOO_MANY_CHUNK_STREAMS',
    );
  });

  it('rejects fmt 3 without state and a new header mid-message', () => {
    expectCode(() => decode([Buffer.from([0xc5, 1, 2])]), 'RTMP_BAD_CHUNK_HEADER');
    const partial = bytes(0x06, u24(0), u24(200), 9, u32le(1), data(128));
    expectCode(() => decode([partial, bytes(0x86, u24(5))]), 'RTMP_BAD_CHUNK_HEADER');
  });

  it('validates Set Chunk Size and stays failed afterwards', () => {
    const scs = (payload: number[]) => bytes(0x02, u24(0), u24(payload.length), 1, u32le(0), payload);
    expectCode(() => decode([scs(u32(0x80000000))]), 'RTMP_BAD_CHUNK_SIZE');
    expectCode(() => decode([scs(u32(4097))], { maxChunkSize: 4096 }), 'RTMP_BAD_CHUNK_SIZE');
    expectCode(() => decode([scs([0, 1])]), 'RTMP_BAD_CHUNK_SIZE');
    const d = new ChunkDecoder();
    d.push(scs(u32(1)));
    expect(d.chunkSize).toBe(1);
    const zero = encodeMessages([msg(2, 1, 0, 0, Buffer.from(u32(0)))], 1); // now in 1-byte chunks
    expect(zero.length).toBe(12 + 1 + 3 * 2);
    expectCode(() => d.push(zero), 'RTMP_BAD_CHUNK_SIZE');
    expectCode(() => d.push(Buffer.alloc(0)), 'RTMP_BAD_CHUNK_SIZE');
  });
});

describe('ChunkDecoder fuzz', () => {
  afterEach(() => vi.restoreAllMocks());
  const limits = { maxMessageBytes: 4096, maxBufferedBytes: 8192, maxChunkStreams: 8, maxChunkSize: 1 << 16 };

  function feed(stream: Uint8Array, cuts: number[]): void {
    const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((x, y) => x - y);
    const buf = Buffer.from(stream);
    const spy = vi.spyOn(Buffer, 'allocUnsafe');
    const d = new ChunkDecoder(limits);
    try {
      let prev = 0;
      for (const p of [...points, buf.length]) {
        d.push(buf.subarray(prev, p));
        prev = p;
      }
    } catch (err) {
      if (!(err instanceof TidecastError)) throw err;
    } finally {
      const sizes = spy.mock.calls.map(([n]) => n);
      spy.mockRestore();
      expect(Math.max(0, ...sizes)).toBeLessThanOrEqual(limits.maxMessageBytes);
    }
  }

  it('random bytes only ever raise TidecastError and stay within limits', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 3000 }), fc.array(fc.nat(), { maxLength: 6 }), feed), {
      numRuns: 300,
    });
  });

  it('mutated valid streams only ever raise TidecastError and stay within limits', () => {
    const message = fc.record({
      csid: fc.integer({ min: 2, max: 400 }),
      type: fc.integer({ min: 0, max: 255 }),
      streamId: fc.integer({ min: 0, max: 3 }),
      timestamp: fc.oneof(fc.nat(1000), fc.integer({ min: 0xfffff0, max: 0x1000010 })),
      payload: fc.uint8Array({ maxLength: 600 }).map((a) => Buffer.from(a)),
    });
    const mutation = fc.tuple(
      fc.nat(),
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom('set', 'cut', 'add'),
    );
    fc.assert(
      fc.property(
        fc.array(message, { maxLength: 6 }),
        fc.integer({ min: 1, max: 300 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.array(fc.nat(), { maxLength: 4 }),
        (msgs, chunkSize, mutations, cuts) => {
          let s = [...encodeMessages(msgs, chunkSize)];
          for (const [pos, value, kind] of mutations) {
            const i = pos % (s.length + 1);
            if (kind === 'set' && i < s.length) s[i] = value;
            else if (kind === 'cut') s = s.slice(0, i).concat(s.slice(i + 1));
            else s.splice(i, 0, value);
          }
          feed(Uint8Array.from(s), cuts);
        },
      ),
      { numRuns: 300 },
    );
  });
});
