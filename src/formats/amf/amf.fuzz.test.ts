/**
 * Fuzzing both decoders: random bytes and mutated fixtures must only ever raise TidecastError, finish
 * quickly, and any successful result must stay within the limits when walked like a tree.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { decodeAmf0, encodeAmf0 } from './amf0.js';
import { decodeAmf3, encodeAmf3 } from './amf3.js';
import { type AmfLimits, type AmfValue, EcmaArray } from './types.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
type Decoder = (buf: Buffer, limits: AmfLimits) => AmfValue[];

const FUZZ_LIMITS: AmfLimits = { maxDepth: 8, maxItems: 2000, maxStringBytes: 4096 };

/** Values and container levels a tree walk sees (a shared reference counts every time it is reached). */
function walk(v: AmfValue): { nodes: number; depth: number } {
  const children =
    v instanceof EcmaArray
      ? Object.values(v.entries)
      : Array.isArray(v)
        ? v
        : v !== null && typeof v === 'object' && !(v instanceof Date) && !Buffer.isBuffer(v)
          ? Object.values(v)
          : undefined;
  if (children === undefined) return { nodes: 1, depth: 0 };
  let nodes = 1;
  let depth = 0;
  for (const c of children) {
    const w = walk(c);
    nodes += w.nodes;
    depth = Math.max(depth, w.depth);
  }
  return { nodes, depth: depth + 1 };
}

/** Oracle: only TidecastError escapes, it is quick, and a successful result stays within the limits. */
function check(decode: Decoder, buf: Buffer): void {
  const t0 = performance.now();
  let out: AmfValue[] | undefined;
  try {
    out = decode(buf, FUZZ_LIMITS);
  } catch (err) {
    if (!(err instanceof TidecastError)) throw err;
  }
  expect(performance.now() - t0).toBeLessThan(250);
  if (out) {
    const w = walk(out); // the result array itself adds one value and one level
    expect(w.nodes - 1).toBeLessThanOrEqual(FUZZ_LIMITS.maxItems);
    expect(w.depth - 1).toBeLessThanOrEqual(FUZZ_LIMITS.maxDepth);
  }
}

const sample = [
  1000,
  -1,
  268435456,
  'abc',
  'abc',
  new Date(1),
  { a: { a: ['x', { a: 1 }] } },
  null,
  undefined,
];
const suites: Array<{ name: string; decode: Decoder; fixtures: Buffer[] }> = [
  {
    name: 'AMF0',
    decode: (b, l) => decodeAmf0(b, l),
    fixtures: [
      encodeAmf0(['connect', 1, { app: 'live', type: 'nonprivate', tcUrl: 'rtmp://127.0.0.1:1935/live' }]),
      encodeAmf0(['@setDataFrame', 'onMetaData', new EcmaArray({ width: 1280, height: 720, stereo: true })]),
      encodeAmf0([sample, 'z'.repeat(300)]),
      hex('0A 00000002 03 0001 61 00 3FF0000000000000 000009 07 0001'), // reference
      hex('11 0A 0B 01 03 61 04 01 01 11 0A 01 00 04 02 01'), // AMF3 switch, shared tables
    ],
  },
  {
    name: 'AMF3',
    decode: (b, l) => decodeAmf3(b, l),
    fixtures: [
      encodeAmf3([sample, [{ a: 1 }, { a: 2 }], Buffer.from([1, 2, 3])]),
      hex('0A 23 07 466F6F 03 78 03 79 04 01 04 02   0A 01 04 03 04 04'), // sealed traits + traits ref
      hex('09 05 01 0A 0B 01 03 61 04 01 01 0A 02'), // object reference
      hex('11 05 00 06 03 61 04 01 04 02 06 03 62'), // dictionary
      hex('0D 05 00 FFFFFFFF 00000001 0F 03 01 3FF0000000000000 10 05 00 03 2A 04 01 06 03 61'), // vectors
      Buffer.concat([
        hex('0A 07 43'),
        Buffer.from('flex.messaging.io.ArrayCollection'),
        hex('09 05 01 04 01 04 02'),
      ]),
    ],
  },
];

for (const { name, decode, fixtures } of suites) {
  describe(`${name} fuzz`, () => {
    it('random bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => check(decode, Buffer.from(bytes))),
        { numRuns: 3000 },
      );
    });

    it('random bytes after a valid marker', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 0x11 }), fc.uint8Array({ maxLength: 64 }), (m, bytes) =>
          check(decode, Buffer.concat([Buffer.from([m]), bytes])),
        ),
        { numRuns: 3000 },
      );
    });

    it('mutated fixtures (bit flips, byte overwrites, truncation)', () => {
      const edit = fc.tuple(fc.nat(), fc.integer({ min: 0, max: 7 }), fc.boolean(), fc.nat(255));
      fc.assert(
        fc.property(
          fc.constantFrom(...fixtures),
          fc.array(edit, { minLength: 1, maxLength: 8 }),
          fc.nat(),
          (fixture, edits, cut) => {
            const b = Buffer.from(fixture);
            for (const [pos, bit, overwrite, byte] of edits) {
              const i = pos % b.length;
              b[i] = overwrite ? byte : b[i]! ^ (1 << bit);
            }
            check(decode, b);
            check(decode, b.subarray(0, cut % (b.length + 1)));
          },
        ),
        { numRuns: 3000 },
      );
    });
  });
}
