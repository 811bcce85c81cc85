import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { decodeAmf0, decodeAmf0Value, encodeAmf0 } from './amf0.js';
import { type AmfLimits, type AmfObject, type AmfValue, EcmaArray } from './types.js';

/** Bytes from hex text ("00 3F F0 ..."). */
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** AMF0 UTF-8 (AMF0 §1.3.1): U16 length + bytes, hand-built (not via the encoder). */
const utf = (s: string): Buffer => {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([hex(b.length.toString(16).padStart(4, '0')), b]);
};
const str = (s: string): Buffer => Buffer.concat([hex('02'), utf(s)]);
const num = (n: number): Buffer => {
  const b = Buffer.alloc(9);
  b.writeDoubleBE(n, 1);
  return b;
};
const END = hex('00 00 09');

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

/** Decode, allowing only TidecastError to escape. */
function safeDecode(buf: Buffer, limits?: Partial<AmfLimits>): AmfValue[] | TidecastError {
  try {
    return decodeAmf0(buf, limits);
  } catch (err) {
    if (err instanceof TidecastError) return err;
    throw err;
  }
}

// ------------------------------------------------------------------------------------------ fixtures

/** ffmpeg's connect command (protocol-brief §1.5): "connect", txn 1, command object. */
const connectParts = [
  str('connect'),
  num(1),
  Buffer.concat([
    hex('03'),
    utf('app'),
    str('live'),
    utf('type'),
    str('nonprivate'),
    utf('flashVer'),
    str('FMLE/3.0 (compatible; Lavf59.27.100)'),
    utf('tcUrl'),
    str('rtmp://127.0.0.1:1935/live'),
    END,
  ]),
];
const CONNECT = Buffer.concat(connectParts);
const connectValues = [
  'connect',
  1,
  {
    app: 'live',
    type: 'nonprivate',
    flashVer: 'FMLE/3.0 (compatible; Lavf59.27.100)',
    tcUrl: 'rtmp://127.0.0.1:1935/live',
  },
];

/** @setDataFrame data message with an ECMA array (count hint 3 although 5 properties follow). */
const metaProps = [
  Buffer.concat([utf('duration'), hex('00 0000000000000000')]),
  Buffer.concat([utf('width'), hex('00 4094000000000000')]), // 1280
  Buffer.concat([utf('height'), hex('00 4086800000000000')]), // 720
  Buffer.concat([utf('stereo'), hex('01 01')]),
  Buffer.concat([utf('encoder'), str('Lavf59.27.100')]),
];
const metaHead = Buffer.concat([str('@setDataFrame'), str('onMetaData'), hex('08 00000003')]);
const META = Buffer.concat([metaHead, ...metaProps, END]);
const metaObject = { duration: 0, width: 1280, height: 720, stereo: true, encoder: 'Lavf59.27.100' };

/** Prefix lengths after which a buffer is a complete sequence of values. */
function boundaries(parts: Buffer[]): number[] {
  const out = [0];
  for (const p of parts) out.push(out[out.length - 1]! + p.length);
  return out;
}

// ------------------------------------------------------------------------------------------ fixtures

describe('AMF0 fixtures (hand-written from the spec)', () => {
  it('number 1.0 (§2.2)', () => {
    const b = hex('00 3F F0 00 00 00 00 00 00');
    expect(decodeAmf0(b)).toEqual([1]);
    expect(encodeAmf0([1])).toEqual(b);
  });

  it('string "app" (§2.4)', () => {
    const b = hex('02 00 03 61 70 70');
    expect(decodeAmf0(b)).toEqual(['app']);
    expect(encodeAmf0(['app'])).toEqual(b);
  });

  it('boolean, null, undefined, unsupported (§2.3, §2.7, §2.8, §2.15)', () => {
    expect(decodeAmf0(hex('01 00 01 01 01 05 05 06 0D'))).toEqual([
      false,
      true,
      true,
      null,
      undefined,
      undefined,
    ]);
    expect(encodeAmf0([false, true, null, undefined])).toEqual(hex('01 00 01 01 05 06'));
  });

  it('ffmpeg connect command', () => {
    expect(decodeAmf0(CONNECT)).toEqual(connectValues);
    expect(encodeAmf0(connectValues)).toEqual(CONNECT);
  });

  it('@setDataFrame ECMA array, ignoring the count hint (§2.10)', () => {
    const [a, b, meta] = decodeAmf0(META);
    expect([a, b]).toEqual(['@setDataFrame', 'onMetaData']);
    expect(meta).toEqual(metaObject);
    expect((meta as AmfObject).width).toBe(1280);
    expect(
      decodeAmf0(Buffer.concat([metaHead.subarray(0, -4), hex('00000000'), ...metaProps, END]))[2],
    ).toEqual(metaObject);
  });

  it('ECMA array without its end marker at the end of the payload', () => {
    const cut = Buffer.concat([metaHead, ...metaProps]);
    expect(decodeAmf0(cut)[2]).toEqual(metaObject);
    expect(decodeAmf0(Buffer.concat([cut, hex('00 00')]))[2]).toEqual(metaObject);
  });

  it('keepEcmaArrays returns EcmaArray; encodeAmf0 writes EcmaArray as marker 8', () => {
    const v = decodeAmf0(META, undefined, { keepEcmaArrays: true })[2];
    expect(v).toBeInstanceOf(EcmaArray);
    expect((v as EcmaArray).entries).toEqual(metaObject);
    const enc = encodeAmf0(['@setDataFrame', 'onMetaData', new EcmaArray(metaObject)]);
    expect(enc).toEqual(Buffer.concat([metaHead.subarray(0, -4), hex('00000005'), ...metaProps, END]));
  });

  it('strict array (§2.12) and date (§2.13, time zone ignored)', () => {
    expect(decodeAmf0(hex('0A 00000002 00 3FF0000000000000 05'))).toEqual([[1, null]]);
    expect(decodeAmf0(hex('0B 408F400000000000 FF88'))).toEqual([new Date(1000)]);
    expect(encodeAmf0([new Date(1000)])).toEqual(hex('0B 408F400000000000 0000'));
    expect(encodeAmf0([[1, null]])).toEqual(hex('0A 00000002 00 3FF0000000000000 05'));
  });

  it('long string (§2.14) and XML document (§2.17)', () => {
    const long = 'a'.repeat(70000);
    const enc = encodeAmf0([long]);
    expect(enc.subarray(0, 5)).toEqual(hex('0C 00011170'));
    expect(decodeAmf0(enc)).toEqual([long]);
    expect(encodeAmf0(['a'.repeat(65535)])[0]).toBe(0x02);
    expect(decodeAmf0(hex('0F 00000004 3C612F3E'))).toEqual(['<a/>']);
  });

  it('typed object decodes to a plain object (§2.18)', () => {
    const b = Buffer.concat([hex('10'), utf('com.Foo'), utf('x'), num(2), END]);
    expect(decodeAmf0(b)).toEqual([{ x: 2 }]);
  });

  it('references share the earlier instance (§2.9)', () => {
    // strict array (index 0) holding an object (index 1) and a reference to it
    const b = Buffer.concat([hex('0A 00000002 03'), utf('a'), num(1), END, hex('07 0001')]);
    const [arr] = decodeAmf0(b) as [AmfObject[]];
    expect(arr).toEqual([{ a: 1 }, { a: 1 }]);
    expect(arr[0]).toBe(arr[1]);
    // top-level values share the table too
    const two = decodeAmf0(Buffer.concat([hex('03'), utf('a'), num(1), END, hex('07 0000')]));
    expect(two[0]).toBe(two[1]);
  });

  it('rejects bad, cyclic and out-of-range references', () => {
    expectCode(() => decodeAmf0(hex('07 0000')), 'AMF_BAD_REFERENCE');
    expectCode(() => decodeAmf0(hex('0A 00000001 07 0000')), 'AMF_BAD_REFERENCE');
    expectCode(
      () => decodeAmf0(Buffer.concat([hex('03'), utf('self'), hex('07 0000'), END])),
      'AMF_BAD_REFERENCE',
    );
  });

  it('AVM+ marker switches to AMF3 for one value (§3.1), sharing AMF3 tables per message', () => {
    expect(decodeAmf0(hex('11 04 87 68'))).toEqual([1000]);
    expect(decodeAmf0(hex('11 0A 0B 01 03 61 04 01 01 00 3FF0000000000000'))).toEqual([{ a: 1 }, 1]);
    expect(decodeAmf0(hex('11 06 03 61 11 06 00'))).toEqual(['a', 'a']);
  });

  it('rejects reserved and misplaced markers', () => {
    for (const m of ['04', '09', '0E', '12', 'FF']) expectCode(() => decodeAmf0(hex(m)), 'AMF_BAD_MARKER');
    expectCode(() => decodeAmf0(Buffer.concat([hex('03'), utf('a'), hex('09')])), 'AMF_BAD_MARKER');
  });

  it('empty keys and "__proto__" keys are own properties', () => {
    const v = decodeAmf0(
      Buffer.concat([hex('03'), utf(''), num(1), utf('__proto__'), hex('03'), END, END]),
    )[0];
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v as object)).toEqual(['', '__proto__']);
    expect(decodeAmf0(encodeAmf0([v]))).toEqual([v]);
  });

  it('decodeAmf0Value returns the end offset', () => {
    expect(decodeAmf0Value(CONNECT, 0)).toEqual({ value: 'connect', offset: 10 });
    expect(decodeAmf0Value(CONNECT, 10)).toEqual({ value: 1, offset: 19 });
    expectCode(() => decodeAmf0Value(CONNECT, CONNECT.length), 'AMF_TRUNCATED');
    expectCode(() => decodeAmf0Value(CONNECT, -1), 'AMF_TRUNCATED');
  });
});

describe('AMF0 limits', () => {
  const nest = (n: number) =>
    Buffer.concat([...Array.from({ length: n }, () => hex('0A 00000001')), hex('05')]);

  it('caps nesting depth', () => {
    expect(decodeAmf0(nest(32))).toHaveLength(1);
    expectCode(() => decodeAmf0(nest(33)), 'AMF_TOO_DEEP');
    expectCode(() => decodeAmf0(nest(5), { maxDepth: 4 }), 'AMF_TOO_DEEP');
    expectCode(() => decodeAmf0(nest(100_000)), 'AMF_TOO_DEEP');
  });

  it('counts depth through references', () => {
    // value 0 is 20 levels deep; value 1 nests a reference to it 20 levels down
    const deep = Buffer.concat([
      nest(20),
      ...Array.from({ length: 20 }, () => hex('0A 00000001')),
      hex('07 0000'),
    ]);
    expectCode(() => decodeAmf0(deep), 'AMF_TOO_DEEP');
  });

  it('checks counts and lengths before allocating', () => {
    expectCode(() => decodeAmf0(hex('0A FFFFFFFF 05')), 'AMF_TOO_LONG');
    expectCode(() => decodeAmf0(hex('0A 00000064 05 05')), 'AMF_TRUNCATED');
    expectCode(() => decodeAmf0(hex('0C FFFFFFFF 61')), 'AMF_TOO_LONG');
    expectCode(() => decodeAmf0(hex('0C 00000010 61')), 'AMF_TRUNCATED');
    expectCode(() => decodeAmf0(str('0123456789'), { maxStringBytes: 5 }), 'AMF_TOO_LONG');
    expectCode(() => decodeAmf0(hex('05'.repeat(11)), { maxItems: 10 }), 'AMF_TOO_LONG');
  });

  it('caps the expanded size of shared references', () => {
    // each array holds 200 references to the previous one: 200^3 values if walked
    const level = (prev: number) =>
      Buffer.concat([hex('0A 000000C8'), ...Array.from({ length: 200 }, () => hex(`07 000${prev}`))]);
    const b = Buffer.concat([hex('0A 00000000'), level(0), level(1), level(2)]);
    expectCode(() => decodeAmf0(b), 'AMF_TOO_LONG');
  });
});

describe('AMF0 encoder errors', () => {
  it('rejects Buffers, functions, cycles and oversized keys', () => {
    expectCode(() => encodeAmf0([Buffer.from([1])]), 'AMF_BAD_MARKER');
    expectCode(() => encodeAmf0([(() => 1) as unknown as AmfValue]), 'AMF_BAD_MARKER');
    const cyclic: AmfObject = {};
    cyclic.self = cyclic;
    expectCode(() => encodeAmf0([cyclic]), 'AMF_TOO_DEEP');
    expectCode(() => encodeAmf0([{ ['k'.repeat(65536)]: 1 }]), 'AMF_TOO_LONG');
  });
});

// ------------------------------------------------------------------------------------------ properties

const keyArb = fc.oneof(
  fc.constantFrom('', 'app', 'width', '__proto__', 'constructor', '0'),
  fc.string({ unit: 'binary', maxLength: 12 }),
);
const leafArb: fc.Arbitrary<AmfValue> = fc.oneof(
  fc.double(),
  fc.integer(),
  fc.boolean(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom(null, undefined),
  fc.date({ noInvalidDate: true }),
);
const { value: amf0Arb } = fc.letrec<{ value: AmfValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leafArb,
    fc.array(tie('value'), { maxLength: 6 }),
    fc.dictionary(keyArb, tie('value'), { maxKeys: 6, noNullPrototype: true }),
    fc.dictionary(keyArb, tie('value'), { maxKeys: 6, noNullPrototype: true }).map((o) => new EcmaArray(o)),
  ),
}));

/** What decoding without keepEcmaArrays yields. */
function plain(v: AmfValue): AmfValue {
  if (v instanceof EcmaArray) return plain(v.entries);
  if (Array.isArray(v)) return v.map(plain);
  if (v !== null && typeof v === 'object' && !(v instanceof Date) && !Buffer.isBuffer(v)) {
    const out: AmfObject = {};
    for (const k of Object.keys(v))
      Object.defineProperty(out, k, {
        value: plain(v[k]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    return out;
  }
  return v;
}

/**
 * Strict structural equality: same kinds and prototypes, numbers by Object.is, same own keys in the same order.
 * (toStrictEqual compares `.constructor`, which breaks on an own "constructor" member.)
 */
function sameAmf(a: AmfValue, b: AmfValue): boolean {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) return Object.is(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return Object.is(a.getTime(), (b as Date).getTime());
  if (Buffer.isBuffer(a)) return a.equals(b as Buffer);
  if (a instanceof EcmaArray) return sameAmf(a.entries, (b as EcmaArray).entries);
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

describe('AMF0 properties', () => {
  it('round-trips arbitrary value trees', () => {
    fc.assert(
      fc.property(fc.array(amf0Arb, { maxLength: 4 }), (values) => {
        const buf = encodeAmf0(values);
        expect(sameAmf(decodeAmf0(buf, undefined, { keepEcmaArrays: true }), values)).toBe(true);
        expect(sameAmf(decodeAmf0(buf), values.map(plain))).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('truncation at every offset of each fixture throws TidecastError', () => {
    const nested = [1, 'x', new Date(5), { a: [null], b: new EcmaArray({ c: true }) }];
    const cases: Array<{ buf: Buffer; ok: number[] }> = [
      { buf: hex('00 3F F0 00 00 00 00 00 00'), ok: [0] },
      { buf: hex('02 00 03 61 70 70'), ok: [0] },
      { buf: CONNECT, ok: boundaries(connectParts) },
      // ECMA arrays may end at any property boundary (missing end marker tolerated)
      {
        buf: META,
        ok: [
          ...boundaries([str('@setDataFrame'), str('onMetaData')]),
          ...boundaries(metaProps).map((n) => n + metaHead.length),
          META.length - 1,
        ],
      },
      { buf: encodeAmf0([nested, 'z'.repeat(70000)]), ok: [0, encodeAmf0([nested]).length] },
    ];
    for (const { buf, ok } of cases) {
      for (let n = 0; n < buf.length; n++) {
        const r = safeDecode(buf.subarray(0, n));
        if (ok.includes(n)) expect(r, `prefix ${n}`).not.toBeInstanceOf(TidecastError);
        else expect((r as TidecastError).code, `prefix ${n}`).toBe('AMF_TRUNCATED');
      }
    }
  });
});
