import { existsSync, readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { FlvReader, type FlvTag } from './flv-reader.js';
import { encodeFlvTag, flvHeader } from './flv-writer.js';

const VECTOR = new URL('../../../../shared/vectors/enhanced-flv/testsrc.flv', import.meta.url);

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof TidecastError) return err.code;
    throw err;
  }
  return undefined;
}

function file(tags: FlvTag[], flags = { audio: true, video: true }): Buffer {
  return Buffer.concat([
    flvHeader(flags),
    ...tags.map((t) => encodeFlvTag(t.type as 8 | 9 | 18, t.timestamp, t.body)),
  ]);
}

/** Compact form for comparisons (deep-equal on many large Buffers is slow). */
const digest = (tags: FlvTag[]) => tags.map((t) => `${t.type}@${t.timestamp}:${t.body.toString('hex')}`);

function readAll(chunks: Buffer[], reader = new FlvReader()): FlvTag[] {
  const out: FlvTag[] = [];
  for (const c of chunks) out.push(...reader.push(c));
  reader.end();
  return out;
}

const SAMPLE: FlvTag[] = [
  { type: 18, timestamp: 0, body: Buffer.from('02000a6f6e4d65746144617461', 'hex') },
  { type: 9, timestamp: 0, body: Buffer.from('1700000000', 'hex') },
  { type: 8, timestamp: 23, body: Buffer.alloc(0) },
  { type: 9, timestamp: 0xff000001, body: Buffer.from('2701000021deadbeef', 'hex') },
];

/** First tags of the Veovera vector, cut at a tag boundary (offset 4280 = start of tag 8). */
const PREFIX = existsSync(VECTOR) ? readFileSync(VECTOR).subarray(0, 4280) : file(SAMPLE);

describe('FlvReader', () => {
  it('reads header flags and tags, including the extended timestamp byte', () => {
    const r = new FlvReader();
    expect(r.header).toBeUndefined();
    const tags = readAll([file(SAMPLE, { audio: false, video: true })], r);
    expect(r.header).toEqual({ audio: false, video: true });
    expect(tags).toEqual(SAMPLE);
    expect(r.prevTagSizeMismatches).toBe(0);
  });

  it('gives identical results when the input is split at every offset', () => {
    const reference = digest(readAll([PREFIX]));
    expect(reference.length).toBeGreaterThanOrEqual(4);
    for (let k = 0; k <= PREFIX.length; k++) {
      expect(digest(readAll([PREFIX.subarray(0, k), PREFIX.subarray(k)]))).toEqual(reference);
    }
    expect(digest(readAll([...PREFIX].map((b) => Buffer.from([b]))))).toEqual(reference);
  });

  it('round-trips encodeFlvTag output under random chunking (property)', () => {
    const tag = fc.record({
      type: fc.constantFrom(8, 9, 18),
      timestamp: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
      body: fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    });
    fc.assert(
      fc.property(fc.array(tag, { maxLength: 12 }), fc.array(fc.nat(), { maxLength: 10 }), (tags, cuts) => {
        const bytes = file(tags);
        const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let prev = 0;
        for (const p of [...points, bytes.length]) {
          chunks.push(bytes.subarray(prev, p));
          prev = p;
        }
        expect(readAll(chunks)).toEqual(tags);
      }),
    );
  });

  it('rejects bad signatures and DataOffsets with FLV_BAD_HEADER', () => {
    expect(codeOf(() => new FlvReader().push(Buffer.from('464c4101050000000900000000', 'hex')))).toBe(
      'FLV_BAD_HEADER',
    );
    expect(codeOf(() => new FlvReader().push(Buffer.from('464c5601050000000800000000', 'hex')))).toBe(
      'FLV_BAD_HEADER',
    );
  });

  it('skips a header larger than 9 bytes', () => {
    const h = Buffer.from('464c5601050000000cabcdef00000000', 'hex');
    expect(readAll([h, encodeFlvTag(9, 7, Buffer.from([0x17]))])).toEqual([
      { type: 9, timestamp: 7, body: Buffer.from([0x17]) },
    ]);
  });

  it('caps the tag size (FLV_TAG_TOO_LARGE) as soon as the tag header arrives', () => {
    const r = new FlvReader({ maxTagBytes: 100 });
    r.push(flvHeader({ audio: true, video: true }));
    expect(codeOf(() => r.push(encodeFlvTag(9, 0, Buffer.alloc(101)).subarray(0, 11)))).toBe(
      'FLV_TAG_TOO_LARGE',
    );
    expect(
      readAll(
        [file([{ type: 9, timestamp: 0, body: Buffer.alloc(100) }])],
        new FlvReader({ maxTagBytes: 100 }),
      ),
    ).toHaveLength(1);
  });

  it('tolerates PreviousTagSize mismatches but counts them', () => {
    const bytes = file(SAMPLE);
    bytes.writeUInt32BE(12345, bytes.length - 4 - SAMPLE[3].body.length - 11 - 4);
    const r = new FlvReader();
    expect(readAll([bytes], r)).toEqual(SAMPLE);
    expect(r.prevTagSizeMismatches).toBe(1);
  });

  it('end() throws FLV_TRUNCATED only when a header, tag or back-pointer is incomplete', () => {
    const bytes = file(SAMPLE);
    // Clean stops: nothing, after the header (with or without PreviousTagSize0), after any tag body
    // (a missing final PreviousTagSize is tolerated) and after any back-pointer.
    const clean = new Set([0, 9, 13]);
    let pos = 13;
    for (const t of SAMPLE) {
      pos += 11 + t.body.length;
      clean.add(pos);
      pos += 4;
      clean.add(pos);
    }
    for (let k = 0; k <= bytes.length; k++) {
      const r = new FlvReader();
      r.push(bytes.subarray(0, k));
      const atBoundary = clean.has(k);
      expect(codeOf(() => r.end())).toBe(atBoundary ? undefined : 'FLV_TRUNCATED');
    }
  });

  it('fuzz: arbitrary bytes after a header throw only TidecastError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, withHeader) => {
        const r = new FlvReader({ maxTagBytes: 64 });
        const input = withHeader
          ? Buffer.concat([flvHeader({ audio: true, video: true }), bytes])
          : Buffer.from(bytes);
        codeOf(() => {
          r.push(input);
          r.end();
        });
      }),
    );
  });
});
