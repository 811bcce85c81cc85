/**
 * AMF0 encoder and decoder (Adobe "Action Message Format -- AMF 0", section numbers cited inline),
 * with the interop rules of protocol-brief §1.4 / §0 rule 11.
 */
import { TidecastError } from '../../errors.js';
import { readAmf3Value } from './amf3.js';
import { Amf0Marker } from './markers.js';
import { AmfReader, resolveLimits, setProp } from './reader.js';
import {
  type AmfDecodeOptions,
  type AmfDecodeResult,
  type AmfLimits,
  type AmfObject,
  type AmfValue,
  DEFAULT_AMF_LIMITS,
  EcmaArray,
} from './types.js';
import { AmfWriter, checkEncodeDepth, kindOf } from './writer.js';

export { Amf0Marker } from './markers.js';

const M = Amf0Marker;

// ---------------------------------------------------------------------------------------------- decoding

/**
 * Decode every value in `buf` (an RTMP command/data payload is a sequence of AMF0 values).
 * One reference table per call (§4.1.3: indices are local to each message body).
 */
export function decodeAmf0(buf: Buffer, limits?: Partial<AmfLimits>, options?: AmfDecodeOptions): AmfValue[] {
  const r = new AmfReader(buf, 0, resolveLimits(limits));
  const keep = options?.keepEcmaArrays === true;
  const values: AmfValue[] = [];
  while (r.remaining > 0) values.push(readAmf0Value(r, 0, keep));
  return values;
}

/** Decode one AMF0 value at `offset`, with fresh reference tables. */
export function decodeAmf0Value(
  buf: Buffer,
  offset: number,
  limits?: Partial<AmfLimits>,
  options?: AmfDecodeOptions,
): AmfDecodeResult {
  const r = new AmfReader(buf, offset, resolveLimits(limits));
  const value = readAmf0Value(r, 0, options?.keepEcmaArrays === true);
  return { value, offset: r.pos };
}

/** Read one value (§2.1 value-type) at nesting `depth`. */
export function readAmf0Value(r: AmfReader, depth: number, keep: boolean): AmfValue {
  r.countNodes(1);
  const at = r.pos;
  const marker = r.u8();
  switch (marker) {
    case M.Number: // §2.2
      return r.f64();
    case M.Boolean: // §2.3: non-zero is true
      return r.u8() !== 0;
    case M.String: // §2.4
      return r.utf8(r.u16());
    case M.Object: {
      // §2.5: properties until UTF-8-empty + object-end-marker
      const idx = r.amf0Refs.open(depth);
      const obj: AmfObject = {};
      readProperties(r, obj, depth, keep, false);
      r.amf0Refs.close(idx, obj);
      return obj;
    }
    case M.Null: // §2.7
      return null;
    case M.Undefined: // §2.8
    case M.Unsupported: // §2.15: no payload
      return undefined;
    case M.Reference: // §2.9: U16 index into the complex-object table
      return r.amf0Refs.get(r.u16(), depth);
    case M.EcmaArray: {
      // §2.10: the U32 count is only a hint (ffmpeg patches it later, some encoders write 0): read
      // properties until the end marker, and accept a payload that ends without one (brief §0 rule 11).
      r.u32();
      const idx = r.amf0Refs.open(depth);
      const obj: AmfObject = {};
      readProperties(r, obj, depth, keep, true);
      const value = keep ? new EcmaArray(obj) : obj;
      r.amf0Refs.close(idx, value);
      return value;
    }
    case M.StrictArray: {
      // §2.12: U32 count then that many values (each at least one byte)
      const count = r.u32();
      r.checkCount(count, 1);
      const idx = r.amf0Refs.open(depth);
      const arr: AmfValue[] = [];
      for (let i = 0; i < count; i++) arr.push(readAmf0Value(r, depth + 1, keep));
      r.amf0Refs.close(idx, arr);
      return arr;
    }
    case M.Date: {
      // §2.13: DOUBLE ms since epoch, then S16 time zone (reserved, ignored)
      const ms = r.f64();
      r.skip(2);
      return new Date(ms);
    }
    case M.LongString: // §2.14
    case M.XmlDocument: // §2.17: always a long string
      return r.utf8(r.u32());
    case M.TypedObject: {
      // §2.18: class name, then properties like an anonymous object; the class name is dropped
      const idx = r.amf0Refs.open(depth);
      r.skip(r.u16());
      const obj: AmfObject = {};
      readProperties(r, obj, depth, keep, false);
      r.amf0Refs.close(idx, obj);
      return obj;
    }
    case M.AvmPlus: // §3.1: the next value is AMF3
      return readAmf3Value(r, depth);
    default: // movieclip (§2.6), object end outside an object (§2.11), recordset (§2.16), unknown
      throw new TidecastError('AMF_BAD_MARKER', `AMF0 marker 0x${marker.toString(16)} at offset ${at}`);
  }
}

/**
 * §2.5 object-property: (UTF-8 value-type) | (UTF-8-empty object-end-marker). An empty key followed by
 * anything but 0x09 is read as a property named "" (no value starts with 0x09, so this is unambiguous).
 */
function readProperties(r: AmfReader, obj: AmfObject, depth: number, keep: boolean, lenient: boolean): void {
  for (;;) {
    if (lenient && r.remaining === 0) return;
    const key = r.utf8(r.u16());
    if (key === '') {
      if (lenient && r.remaining === 0) return;
      r.need(1);
      if (r.buf[r.pos] === M.ObjectEnd) {
        r.pos++;
        return;
      }
    }
    setProp(obj, key, readAmf0Value(r, depth + 1, keep));
  }
}

// ---------------------------------------------------------------------------------------------- encoding

/**
 * Encode values back to back. Numbers are always doubles (§2.2); strings over 65535 UTF-8 bytes use the
 * long string marker (§2.14); `EcmaArray` → ECMA array (§2.10); arrays → strict arrays (§2.12);
 * other objects → anonymous objects (§2.5). Buffers have no AMF0 form and throw AMF_BAD_MARKER.
 */
export function encodeAmf0(values: AmfValue[]): Buffer {
  const w = new AmfWriter();
  for (const v of values) writeValue(w, v, 0);
  return w.finish();
}

function writeValue(w: AmfWriter, v: AmfValue, depth: number): void {
  switch (kindOf(v)) {
    case 'number':
      w.u8(M.Number);
      w.f64(v as number);
      return;
    case 'boolean':
      w.u8(M.Boolean);
      w.u8(v ? 1 : 0);
      return;
    case 'string': {
      const b = Buffer.from(v as string, 'utf8');
      if (b.length <= 0xffff) {
        w.u8(M.String);
        w.u16(b.length);
      } else {
        if (b.length > 0xffffffff) throw new TidecastError('AMF_TOO_LONG', `string of ${b.length} bytes`);
        w.u8(M.LongString);
        w.u32(b.length);
      }
      w.bytes(b);
      return;
    }
    case 'null':
      w.u8(M.Null);
      return;
    case 'undefined':
      w.u8(M.Undefined);
      return;
    case 'date':
      w.u8(M.Date);
      w.f64((v as Date).getTime());
      w.u16(0); // §2.13: time zone should be 0
      return;
    case 'array': {
      const arr = v as AmfValue[];
      checkEncodeDepth(depth, DEFAULT_AMF_LIMITS.maxDepth);
      w.u8(M.StrictArray);
      w.u32(arr.length);
      for (let i = 0; i < arr.length; i++) writeValue(w, arr[i], depth + 1);
      return;
    }
    case 'ecma': {
      const entries = (v as EcmaArray).entries;
      checkEncodeDepth(depth, DEFAULT_AMF_LIMITS.maxDepth);
      w.u8(M.EcmaArray);
      w.u32(Object.keys(entries).length);
      writeProperties(w, entries, depth);
      return;
    }
    case 'object':
      checkEncodeDepth(depth, DEFAULT_AMF_LIMITS.maxDepth);
      w.u8(M.Object);
      writeProperties(w, v as AmfObject, depth);
      return;
    case 'buffer':
      throw new TidecastError('AMF_BAD_MARKER', 'AMF0 has no byte array type');
  }
}

/** §2.5 properties followed by the object-end type 00 00 09 (§2.11). */
function writeProperties(w: AmfWriter, obj: AmfObject, depth: number): void {
  for (const key of Object.keys(obj)) {
    const k = Buffer.from(key, 'utf8');
    if (k.length > 0xffff) throw new TidecastError('AMF_TOO_LONG', `property name of ${k.length} bytes`);
    w.u16(k.length);
    w.bytes(k);
    writeValue(w, obj[key], depth + 1);
  }
  w.u16(0);
  w.u8(M.ObjectEnd);
}
