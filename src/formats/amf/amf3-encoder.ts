/** AMF3 encoder for the basic types (AMF3 spec, January 2013; section numbers cited inline). */
import { TidecastError } from '../../errors.js';
import { Amf3Marker } from './markers.js';
import { type AmfObject, type AmfValue, DEFAULT_AMF_LIMITS, type EcmaArray } from './types.js';
import { AmfWriter, checkEncodeDepth, kindOf } from './writer.js';

const M = Amf3Marker;
const INT_MIN = -0x10000000; // §3.6: integers outside [-2^28, 2^28) are sent as doubles
const INT_MAX = 0x0fffffff;
const U29_MAX = 0x1fffffff;
const LENGTH_MAX = 0x0fffffff; // 28 bits left after the inline/reference flag

/**
 * Encode values with one set of tables: integers in [-2^28, 2^28) as U29 (§3.6), other numbers as doubles
 * (§3.7), strings through the string table (§3.8), dates (§3.10), arrays as dense arrays (§3.11), `EcmaArray`
 * as an associative-only array, plain objects as anonymous dynamic objects sharing one traits entry (§3.12),
 * Buffers as ByteArrays (§3.14).
 */
export function encodeAmf3(values: AmfValue[]): Buffer {
  const e = new Amf3Encoder();
  for (const v of values) e.value(v, 0);
  return e.w.finish();
}

class Amf3Encoder {
  readonly w = new AmfWriter();
  private readonly strings = new Map<string, number>();
  /** Traits index of the anonymous dynamic traits, once written. */
  private anonTraits = -1;
  private traitsCount = 0;

  value(v: AmfValue, depth: number): void {
    const w = this.w;
    switch (kindOf(v)) {
      case 'undefined':
        w.u8(M.Undefined);
        break;
      case 'null':
        w.u8(M.Null);
        break;
      case 'boolean':
        w.u8(v ? M.True : M.False);
        break;
      case 'number': {
        const n = v as number;
        if (Number.isInteger(n) && n >= INT_MIN && n <= INT_MAX && !Object.is(n, -0)) {
          w.u8(M.Integer);
          this.u29(n & U29_MAX);
        } else {
          w.u8(M.Double);
          w.f64(n);
        }
        break;
      }
      case 'string':
        w.u8(M.String);
        this.string(v as string);
        break;
      case 'date':
        w.u8(M.Date);
        this.u29(1);
        w.f64((v as Date).getTime());
        break;
      case 'buffer': {
        const b = v as Buffer;
        w.u8(M.ByteArray);
        this.u29(length28(b.length) * 2 + 1);
        w.bytes(b);
        break;
      }
      case 'array': {
        const arr = v as AmfValue[];
        checkEncodeDepth(depth, DEFAULT_AMF_LIMITS.maxDepth);
        w.u8(M.Array);
        this.u29(length28(arr.length) * 2 + 1);
        this.u29(1); // empty associative part
        for (let i = 0; i < arr.length; i++) this.value(arr[i], depth + 1);
        break;
      }
      case 'ecma':
        checkEncodeDepth(depth, DEFAULT_AMF_LIMITS.maxDepth);
        w.u8(M.Array);
        this.u29(1); // no dense part
        this.pairs((v as EcmaArray).entries, depth);
        break;
      case 'object':
        checkEncodeDepth(depth, DEFAULT_AMF_LIMITS.maxDepth);
        w.u8(M.Object);
        if (this.anonTraits < 0) {
          this.u29(0x0b); // U29O-traits: inline, not externalizable, dynamic, 0 sealed members
          this.string(''); // anonymous class
          this.anonTraits = this.traitsCount++;
        } else {
          this.u29((this.anonTraits << 2) | 1); // U29O-traits-ref
        }
        this.pairs(v as AmfObject, depth);
        break;
    }
  }

  /** Dynamic members / associative part: name-value pairs closed by the empty string. */
  private pairs(obj: AmfObject, depth: number): void {
    for (const key of Object.keys(obj)) {
      if (key === '') throw new TidecastError('AMF_BAD_MARKER', 'AMF3 cannot encode an empty member name');
      this.string(key);
      this.value(obj[key], depth + 1);
    }
    this.u29(1);
  }

  /** §1.3.2 UTF-8-vr; the empty string is never sent by reference. */
  private string(s: string): void {
    if (s === '') {
      this.u29(1);
      return;
    }
    const ref = this.strings.get(s);
    if (ref !== undefined) {
      this.u29(ref << 1);
      return;
    }
    const b = Buffer.from(s, 'utf8');
    this.u29(length28(b.length) * 2 + 1);
    this.w.bytes(b);
    this.strings.set(s, this.strings.size);
  }

  /** §1.3.1 U29, 0 ≤ n < 2^29. */
  private u29(n: number): void {
    const w = this.w;
    if (n < 0x80) {
      w.u8(n);
    } else if (n < 0x4000) {
      w.u8((n >>> 7) | 0x80);
      w.u8(n & 0x7f);
    } else if (n < 0x200000) {
      w.u8((n >>> 14) | 0x80);
      w.u8(((n >>> 7) & 0x7f) | 0x80);
      w.u8(n & 0x7f);
    } else {
      w.u8((n >>> 22) | 0x80);
      w.u8(((n >>> 15) & 0x7f) | 0x80);
      w.u8(((n >>> 8) & 0x7f) | 0x80);
      w.u8(n & 0xff);
    }
  }
}

function length28(n: number): number {
  if (n > LENGTH_MAX) throw new TidecastError('AMF_TOO_LONG', `length ${n} does not fit in 28 bits`);
  return n;
}
