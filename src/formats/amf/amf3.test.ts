import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { decodeAmf3, decodeAmf3Value, encodeAmf3 } from './amf3.js';
import { type AmfObject, type AmfValue, EcmaArray } from './types.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TidecastError);
    expect((err as TidecastError).code).toBe(code);
    return;
  }
  expect.fail(`expected ${code}`);
}

function safeDecode(buf: Buffer): AmfValue[] | TidecastError {
  try {
    return decodeAmf3(buf);
  } catch (err) {
    if (err instanceof TidecastError) return err;
    throw err;
  }
}

// ------------------------------------------------------------------------------------------ fixtures

/** Two anonymous objects; the second reuses the traits (ref 0) and the string "a" (ref 0). */
const TRAITS_REF = hex('0A 0B 01 03 61 04 01 01   0A 01 00 04 02 01');
/** Sealed class Foo{x,y} (U29O-traits 0x23), then an instance by traits reference. */
const SEALED = hex(`0A 23 07 ${ascii('Foo')} 03 78 03 79 04 01 04 02   0A 01 04 03 04 04`);
/** [obj, ref to obj]: the array is object 0, the object is object 1. */
const OBJ_REF = hex('09 05 01 0A 0B 01 03 61 04 01 01 0A 02');
const ARRAY_COLLECTION = hex(`0A 07 43 ${ascii('flex.messaging.io.ArrayCollection')} 09 05 01 04 01 04 02`);

describe('AMF3 fixtures (hand-written from the spec)', () => {
  it('integers (§3.6, U29 §1.3.1)', () => {
    const cases: Array<[number, string]> = [
      [0, '04 00'],
      [127, '04 7F'],
      [128, '04 81 00'],
      [1000, '04 87 68'],
      [16383, '04 FF 7F'],
      [16384, '04 81 80 00'],
      [2097151, '04 FF FF 7F'],
      [2097152, '04 80 C0 80 00'],
      [268435455, '04 BF FF FF FF'],
      [-1, '04 FF FF FF FF'],
      [-268435456, '04 C0 80 80 00'],
    ];
    for (const [n, h] of cases) {
      expect(encodeAmf3([n]), String(n)).toEqual(hex(h));
      expect(decodeAmf3(hex(h)), h).toEqual([n]);
    }
  });

  it('numbers outside the int range, fractions and -0 are doubles (§3.7)', () => {
    expect(encodeAmf3([268435456])).toEqual(hex('05 41B0000000000000'));
    expect(encodeAmf3([-268435457])[0]).toBe(0x05);
    expect(encodeAmf3([1.5])).toEqual(hex('05 3FF8000000000000'));
    expect(encodeAmf3([-0])).toEqual(hex('05 8000000000000000'));
    expect(Object.is(decodeAmf3(hex('05 8000000000000000'))[0], -0)).toBe(true);
    expect(decodeAmf3(hex('05 41B0000000000000'))).toEqual([268435456]);
  });

  it('undefined, null, false, true (§3.2–3.5)', () => {
    expect(decodeAmf3(hex('00 01 02 03'))).toEqual([undefined, null, false, true]);
    expect(encodeAmf3([undefined, null, false, true])).toEqual(hex('00 01 02 03'));
  });

  it('strings and string references (§3.8); the empty string is never referenced', () => {
    expect(decodeAmf3(hex(`06 0B ${ascii('hello')}`))).toEqual(['hello']);
    expect(encodeAmf3(['abc', 'abc', '', ''])).toEqual(hex(`06 07 ${ascii('abc')} 06 00 06 01 06 01`));
    expect(decodeAmf3(hex(`06 07 ${ascii('abc')} 06 03 ${ascii('x')} 06 00 06 02`))).toEqual([
      'abc',
      'x',
      'abc',
      'x',
    ]);
    expectCode(() => decodeAmf3(hex('06 00')), 'AMF_BAD_REFERENCE');
    expectCode(() => decodeAmf3(hex(`06 03 ${ascii('x')} 06 02`)), 'AMF_BAD_REFERENCE');
  });

  it('anonymous objects with a traits reference (§3.12)', () => {
    expect(encodeAmf3([{ a: 1 }, { a: 2 }])).toEqual(TRAITS_REF);
    expect(decodeAmf3(TRAITS_REF)).toEqual([{ a: 1 }, { a: 2 }]);
  });

  it('sealed, sealed + dynamic and typed objects (§3.12)', () => {
    expect(decodeAmf3(SEALED)).toEqual([
      { x: 1, y: 2 },
      { x: 3, y: 4 },
    ]);
    expect(decodeAmf3(hex('0A 1B 01 03 78 04 01 03 7A 04 02 01'))).toEqual([{ x: 1, z: 2 }]);
    expectCode(() => decodeAmf3(hex('0A 05')), 'AMF_BAD_REFERENCE'); // traits ref 1 of 0
  });

  it('object references (§2.2) share the instance; cycles and bad indices are rejected', () => {
    const [arr] = decodeAmf3(OBJ_REF) as [AmfObject[]];
    expect(arr).toEqual([{ a: 1 }, { a: 1 }]);
    expect(arr[0]).toBe(arr[1]);
    expectCode(() => decodeAmf3(hex('09 03 01 09 00')), 'AMF_BAD_REFERENCE');
    expectCode(() => decodeAmf3(hex('0A 00')), 'AMF_BAD_REFERENCE');
    expectCode(() => decodeAmf3(hex('09 03 01 0A 04')), 'AMF_BAD_REFERENCE');
  });

  it('dates, with date references (§3.10)', () => {
    expect(decodeAmf3(hex('08 01 408F400000000000'))).toEqual([new Date(1000)]);
    expect(encodeAmf3([new Date(1000)])).toEqual(hex('08 01 408F400000000000'));
    const [arr] = decodeAmf3(hex('09 05 01 08 01 408F400000000000 08 02')) as [Date[]];
    expect(arr[1]).toBe(arr[0]);
  });

  it('arrays: dense → array, associative part → merged object (§3.11)', () => {
    expect(decodeAmf3(hex('09 05 01 04 01 06 03 61'))).toEqual([[1, 'a']]);
    expect(encodeAmf3([[1, 'a']])).toEqual(hex('09 05 01 04 01 06 03 61'));
    expect(decodeAmf3(hex('09 03 03 6B 06 03 76 01 04 05'))).toEqual([{ k: 'v', 0: 5 }]);
    expect(encodeAmf3([new EcmaArray({ k: 'v' })])).toEqual(hex('09 01 03 6B 06 03 76 01'));
  });

  it('XML, XMLDocument (§3.9, §3.13) and ByteArray (§3.14)', () => {
    expect(decodeAmf3(hex(`0B 09 ${ascii('<a/>')} 07 09 ${ascii('<b/>')}`))).toEqual(['<a/>', '<b/>']);
    expect(decodeAmf3(hex('0C 07 01 02 03'))).toEqual([Buffer.from([1, 2, 3])]);
    expect(encodeAmf3([Buffer.from([1, 2, 3])])).toEqual(hex('0C 07 01 02 03'));
    const [arr] = decodeAmf3(hex('09 05 01 0C 03 FF 0C 02')) as [Buffer[]];
    expect(arr[1]).toBe(arr[0]);
  });

  it('vectors (§3.15) and dictionaries (§3.16)', () => {
    expect(decodeAmf3(hex('0D 05 00 FFFFFFFF 00000001'))).toEqual([[-1, 1]]);
    expect(decodeAmf3(hex('0E 05 00 FFFFFFFF 00000001'))).toEqual([[4294967295, 1]]);
    expect(decodeAmf3(hex('0F 03 01 3FF0000000000000'))).toEqual([[1]]);
    expect(decodeAmf3(hex('10 05 00 03 2A 04 01 06 03 61'))).toEqual([[1, 'a']]);
    expect(decodeAmf3(hex('11 05 00 06 03 61 04 01 04 02 06 03 62'))).toEqual([{ a: 1, 2: 'b' }]);
  });

  it('externalizable: ArrayCollection unwraps, anything else is rejected', () => {
    expect(decodeAmf3(ARRAY_COLLECTION)).toEqual([[1, 2]]);
    expectCode(() => decodeAmf3(hex(`0A 07 07 ${ascii('Foo')} 00`)), 'AMF_BAD_MARKER');
  });

  it('rejects unknown markers', () => {
    for (const m of ['12', '20', 'FF']) expectCode(() => decodeAmf3(hex(m)), 'AMF_BAD_MARKER');
  });

  it('decodeAmf3Value returns the end offset', () => {
    expect(decodeAmf3Value(hex('04 87 68 01'), 0)).toEqual({ value: 1000, offset: 3 });
    expect(decodeAmf3Value(hex('04 87 68 01'), 3)).toEqual({ value: null, offset: 4 });
    expectCode(() => decodeAmf3Value(hex('01'), 2), 'AMF_TRUNCATED');
  });
});

describe('AMF3 limits', () => {
  const nest = (n: number) => hex(`${'09 03 01 '.repeat(n)}01`);

  it('caps nesting depth, also through references', () => {
    expect(decodeAmf3(nest(32))).toHaveLength(1);
    expectCode(() => decodeAmf3(nest(33)), 'AMF_TOO_DEEP');
    expectCode(() => decodeAmf3(nest(100_000)), 'AMF_TOO_DEEP');
    expectCode(
      () => decodeAmf3(Buffer.concat([nest(20), hex(`${'09 03 01 '.repeat(20)}09 00`)])),
      'AMF_TOO_DEEP',
    );
  });

  it('checks lengths and counts before allocating', () => {
    expectCode(() => decodeAmf3(hex('06 FF FF FF FF')), 'AMF_TOO_LONG');
    expectCode(() => decodeAmf3(hex('0C 21 00')), 'AMF_TRUNCATED');
    expectCode(() => decodeAmf3(hex('09 FF FF FF FF 01')), 'AMF_TOO_LONG');
    expectCode(() => decodeAmf3(hex('0F 21 00 00')), 'AMF_TRUNCATED');
    expectCode(() => decodeAmf3(hex('0A FF FF FF F3')), 'AMF_TOO_LONG');
    expectCode(() => decodeAmf3(hex('06 0B 61'), { maxStringBytes: 4 }), 'AMF_TOO_LONG');
  });

  it('caps the expanded size of shared references', () => {
    // object k + 1 is an array of 145 references to object k: 145^3 values if walked
    const level = (k: number) => `09 82 23 01 ${`09 0${k * 2} `.repeat(145)}`;
    const b = hex(`09 01 01 ${level(0)}${level(1)}${level(2)}`);
    expectCode(() => decodeAmf3(b), 'AMF_TOO_LONG');
  });
});

describe('AMF3 encoder errors', () => {
  it('rejects empty member names, cycles and unsupported values', () => {
    expectCode(() => encodeAmf3([{ '': 1 }]), 'AMF_BAD_MARKER');
    const cyclic: AmfValue[] = [];
    cyclic.push(cyclic);
    expectCode(() => encodeAmf3([cyclic]), 'AMF_TOO_DEEP');
    expectCode(() => encodeAmf3([Symbol('x') as unknown as AmfValue]), 'AMF_BAD_MARKER');
  });
});

// ------------------------------------------------------------------------------------------ properties

const keyArb = fc.oneof(
  fc.constantFrom('a', 'width', '__proto__', 'constructor', '0', '7'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }),
);
const leafArb: fc.Arbitrary<AmfValue> = fc.oneof(
  fc.double(),
  fc.integer({ min: -0x10000000, max: 0x0fffffff }),
  fc.integer(),
  fc.boolean(),
  fc.constantFrom('', 'a', 'width', 'é', '日本'),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(null, undefined),
  fc.date({ noInvalidDate: true }),
  fc.uint8Array({ maxLength: 20 }).map((u) => Buffer.from(u)),
);
const { value: amf3Arb } = fc.letrec<{ value: AmfValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(keyArb, tie('value'), { maxKeys: 6, noNullPrototype: true }),
    fc
      .dictionary(keyArb, tie('value'), { minKeys: 1, maxKeys: 6, noNullPrototype: true })
      .map((o) => new EcmaArray(o)),
  ),
}));

/** What AMF3 decoding yields: an EcmaArray comes back as a plain object. */
function plain(v: AmfValue): AmfValue {
  if (v instanceof EcmaArray) return plain(v.entries);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object' && !(v instanceof Date) && !Buffer.isBuffer(v)) {
    const out: AmfObject = {};
    for (const k of Object.keys(v)) {
      Object.defineProperty(out, k, {
        value: plain(v[k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return v;
}

/** Strict structural equality (see amf0.test.ts). */
function sameAmf(a: AmfValue, b: AmfValue): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (Buffer.isBuffer(a)) return a.equals(b as Buffer);
  if (Array.isArray(a)) {
    const bb = b as AmfValue[];
    return a.length === bb.length && a.every((v, i) => sameAmf(v, bb[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  const ao = a as AmfObject;
  const bo = b as AmfObject;
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && sameAmf(ao[k], bo[k]));
}

describe('AMF3 properties', () => {
  it('round-trips arbitrary value trees', () => {
    fc.assert(
      fc.property(fc.array(amf3Arb, { maxLength: 4 }), (values) => {
        const out = decodeAmf3(encodeAmf3(values));
        expect(sameAmf(out, values.map(plain))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('truncation at every offset of each fixture throws TidecastError', () => {
    const mixed = encodeAmf3([
      [1000, -1, 268435456, 'abc', 'abc', new Date(1), Buffer.from([1, 2])],
      { a: { a: 'x' } },
    ]);
    const cases: Array<{ buf: Buffer; ok: number[] }> = [
      { buf: hex('04 87 68'), ok: [0] },
      { buf: hex('04 FF FF FF FF'), ok: [0] },
      { buf: TRAITS_REF, ok: [0, 8] },
      { buf: SEALED, ok: [0, 14] },
      { buf: OBJ_REF, ok: [0] },
      { buf: ARRAY_COLLECTION, ok: [0] },
      { buf: hex('11 05 00 06 03 61 04 01 04 02 06 03 62'), ok: [0] },
      { buf: hex('10 05 00 03 2A 04 01 06 03 61'), ok: [0] },
      {
        buf: mixed,
        ok: [0, encodeAmf3([[1000, -1, 268435456, 'abc', 'abc', new Date(1), Buffer.from([1, 2])]]).length],
      },
    ];
    for (const { buf, ok } of cases) {
      for (let n = 0; n < buf.length; n++) {
        const r = safeDecode(buf.subarray(0, n));
        if (ok.includes(n)) expect(r, `prefix ${n}`).not.toBeInstanceOf(TidecastError);
        else expect((r as TidecastError).code, `prefix ${n} of ${buf.toString('hex')}`).toBe('AMF_TRUNCATED');
      }
    }
  });
});
