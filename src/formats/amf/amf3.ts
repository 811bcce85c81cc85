/**
 * AMF3 decoder (Adobe "Action Message Format -- AMF 3", January 2013; section numbers cited inline).
 * Reference tables (§2.2) live for one decode call, or for one AMF0 message that switches to AMF3.
 */
import { TidecastError } from '../../errors.js';
import { Amf3Marker } from './markers.js';
import { type Amf3Traits, AmfReader, resolveLimits, setProp } from './reader.js';
import type { AmfDecodeResult, AmfLimits, AmfObject, AmfValue } from './types.js';
import { kindOf } from './writer.js';

export { encodeAmf3 } from './amf3-encoder.js';
export { Amf3Marker } from './markers.js';

const M = Amf3Marker;
/** The one externalizable class we understand: it wraps a single value (its source array). */
const ARRAY_COLLECTION = 'flex.messaging.io.ArrayCollection';

/** Decode every AMF3 value in `buf`, sharing one set of reference tables (§4.1). */
export function decodeAmf3(buf: Buffer, limits?: Partial<AmfLimits>): AmfValue[] {
  const r = new AmfReader(buf, 0, resolveLimits(limits));
  const values: AmfValue[] = [];
  while (r.remaining > 0) values.push(readAmf3Value(r, 0));
  return values;
}

/** Decode one AMF3 value at `offset`, with fresh reference tables. */
export function decodeAmf3Value(buf: Buffer, offset: number, limits?: Partial<AmfLimits>): AmfDecodeResult {
  const r = new AmfReader(buf, offset, resolveLimits(limits));
  const value = readAmf3Value(r, 0);
  return { value, offset: r.pos };
}

/** §1.3.1 U29: 7 bits per byte with a continuation flag in the first three bytes, 8 bits in the fourth. */
function readU29(r: AmfReader): number {
  let v = 0;
  for (let i = 0; i < 3; i++) {
    const b = r.u8();
    if (b < 0x80) return (v << 7) | b;
    v = (v << 7) | (b & 0x7f);
  }
  return (v << 8) | r.u8();
}

/** §1.3.2 UTF-8-vr: inline (length << 1 | 1, added to the string table unless empty) or reference. */
function readString(r: AmfReader): string {
  const h = readU29(r);
  const strings = r.amf3.strings;
  if ((h & 1) === 0) {
    const s = strings[h >>> 1];
    if (s === undefined) {
      throw new TidecastError(
        'AMF_BAD_REFERENCE',
        `string reference ${h >>> 1} out of range (${strings.length})`,
      );
    }
    return s;
  }
  const len = h >>> 1;
  if (len === 0) return '';
  const s = r.utf8(len);
  strings.push(s);
  return s;
}

/** Read one value (§3.1 value-type) at nesting `depth`. */
export function readAmf3Value(r: AmfReader, depth: number): AmfValue {
  r.countNodes(1);
  const at = r.pos;
  const marker = r.u8();
  switch (marker) {
    case M.Undefined: // §3.2
      return undefined;
    case M.Null: // §3.3
      return null;
    case M.False: // §3.4
      return false;
    case M.True: // §3.5
      return true;
    case M.Integer: {
      // §3.6: U29 holding a sign-extended 29-bit integer
      const v = readU29(r);
      return v & 0x10000000 ? v - 0x20000000 : v;
    }
    case M.Double: // §3.7
      return r.f64();
    case M.String: // §3.8
      return readString(r);
    case M.XmlDocument: // §3.9
    case M.Xml: {
      // §3.13: U29O-ref | U29X-value + UTF-8, kept as a string
      const h = readU29(r);
      if ((h & 1) === 0) return r.amf3.objects.get(h >>> 1, depth);
      const s = r.utf8(h >>> 1);
      r.amf3.objects.addLeaf(s);
      return s;
    }
    case M.Date: {
      // §3.10: U29O-ref | U29D-value + DOUBLE ms
      const h = readU29(r);
      if ((h & 1) === 0) return r.amf3.objects.get(h >>> 1, depth);
      const d = new Date(r.f64());
      r.amf3.objects.addLeaf(d);
      return d;
    }
    case M.Array:
      return readArray(r, depth);
    case M.Object:
      return readObject(r, depth);
    case M.ByteArray: {
      // §3.14: U29O-ref | U29B-value + bytes
      const h = readU29(r);
      if ((h & 1) === 0) return r.amf3.objects.get(h >>> 1, depth);
      const b = r.bytes(h >>> 1);
      r.amf3.objects.addLeaf(b);
      return b;
    }
    case M.VectorInt:
    case M.VectorUint:
    case M.VectorDouble:
      return readNumberVector(r, depth, marker);
    case M.VectorObject: {
      // §3.15: U29O-ref | U29V-value fixed-vector object-type-name *(value-type)
      const h = readU29(r);
      if ((h & 1) === 0) return r.amf3.objects.get(h >>> 1, depth);
      const count = h >>> 1;
      r.u8(); // fixed-length flag
      readString(r); // element type name ("*" = any)
      r.checkCount(count, 1);
      const idx = r.amf3.objects.open(depth);
      const arr: AmfValue[] = [];
      for (let i = 0; i < count; i++) arr.push(readAmf3Value(r, depth + 1));
      r.amf3.objects.close(idx, arr);
      return arr;
    }
    case M.Dictionary: {
      // §3.16: U29O-ref | U29Dict-value weak-keys *(entry-key entry-value); keys become strings
      const h = readU29(r);
      if ((h & 1) === 0) return r.amf3.objects.get(h >>> 1, depth);
      const count = h >>> 1;
      r.u8(); // weak-keys flag
      r.checkCount(count, 2);
      const idx = r.amf3.objects.open(depth);
      const obj: AmfObject = {};
      for (let i = 0; i < count; i++) {
        const key = keyString(readAmf3Value(r, depth + 1));
        setProp(obj, key, readAmf3Value(r, depth + 1));
      }
      r.amf3.objects.close(idx, obj);
      return obj;
    }
    default:
      throw new TidecastError('AMF_BAD_MARKER', `AMF3 marker 0x${marker.toString(16)} at offset ${at}`);
  }
}

/** §3.11: U29O-ref | U29A-value (dense count), associative pairs until "", then the dense values. */
function readArray(r: AmfReader, depth: number): AmfValue {
  const objects = r.amf3.objects;
  const h = readU29(r);
  if ((h & 1) === 0) return objects.get(h >>> 1, depth);
  const dense = h >>> 1;
  r.checkCount(dense, 1);
  const idx = objects.open(depth);
  const assoc: AmfObject = {};
  let hasAssoc = false;
  for (let key = readString(r); key !== ''; key = readString(r)) {
    hasAssoc = true;
    setProp(assoc, key, readAmf3Value(r, depth + 1));
  }
  const arr: AmfValue[] = [];
  for (let i = 0; i < dense; i++) arr.push(readAmf3Value(r, depth + 1));
  // A mixed array has no JavaScript array form: merge the dense part into the object under "0", "1", ...
  if (hasAssoc) for (let i = 0; i < arr.length; i++) setProp(assoc, String(i), arr[i]);
  const value = hasAssoc ? assoc : arr;
  objects.close(idx, value);
  return value;
}

/** §3.12: U29O-ref | U29O-traits-ext | U29O-traits-ref | U29O-traits, then sealed values, then dynamic pairs. */
function readObject(r: AmfReader, depth: number): AmfValue {
  const { objects, traits: traitsTable } = r.amf3;
  const h = readU29(r);
  if ((h & 1) === 0) return objects.get(h >>> 1, depth);
  let traits: Amf3Traits;
  if ((h & 2) === 0) {
    const t = traitsTable[h >>> 2];
    if (t === undefined) {
      throw new TidecastError(
        'AMF_BAD_REFERENCE',
        `traits reference ${h >>> 2} out of range (${traitsTable.length})`,
      );
    }
    traits = t;
  } else if ((h & 4) !== 0) {
    traits = { className: readString(r), externalizable: true, dynamic: false, sealed: [] };
    traitsTable.push(traits);
  } else {
    const count = h >>> 4;
    r.checkCount(count, 1);
    const className = readString(r);
    const sealed: string[] = [];
    for (let i = 0; i < count; i++) sealed.push(readString(r));
    traits = { className, externalizable: false, dynamic: (h & 8) !== 0, sealed };
    traitsTable.push(traits);
  }
  if (traits.externalizable && traits.className !== ARRAY_COLLECTION) {
    // The body of an externalizable object is private to its class: we cannot know where it ends.
    throw new TidecastError('AMF_BAD_MARKER', `externalizable AMF3 class "${traits.className}"`);
  }
  const idx = objects.open(depth);
  if (traits.externalizable) {
    const inner = readAmf3Value(r, depth + 1);
    objects.close(idx, inner);
    return inner;
  }
  const obj: AmfObject = {};
  for (const name of traits.sealed) setProp(obj, name, readAmf3Value(r, depth + 1));
  if (traits.dynamic) {
    for (let key = readString(r); key !== ''; key = readString(r))
      setProp(obj, key, readAmf3Value(r, depth + 1));
  }
  objects.close(idx, obj);
  return obj;
}

/** §3.15 vector-int/uint/double: U29O-ref | U29V-value fixed-vector then fixed-size items. */
function readNumberVector(r: AmfReader, depth: number, marker: number): AmfValue {
  const h = readU29(r);
  if ((h & 1) === 0) return r.amf3.objects.get(h >>> 1, depth);
  const count = h >>> 1;
  r.u8(); // fixed-length flag
  r.checkCount(count, marker === M.VectorDouble ? 8 : 4);
  const idx = r.amf3.objects.open(depth);
  r.countNodes(count);
  const arr: number[] = [];
  for (let i = 0; i < count; i++) {
    arr.push(marker === M.VectorInt ? r.s32() : marker === M.VectorUint ? r.u32() : r.f64());
  }
  r.amf3.objects.close(idx, arr);
  return arr;
}

/** §3.16 dictionary keys may be any value; integer keys are strings on the wire anyway. */
function keyString(k: AmfValue): string {
  switch (kindOf(k)) {
    case 'string':
      return k as string;
    case 'date': {
      const t = (k as Date).getTime();
      return Number.isNaN(t) ? 'Invalid Date' : (k as Date).toISOString();
    }
    case 'array':
      return '[object Array]';
    case 'buffer':
      return '[object ByteArray]';
    case 'object':
    case 'ecma':
      return '[object Object]';
    default:
      return String(k);
  }
}
