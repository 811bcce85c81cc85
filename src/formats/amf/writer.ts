/** Growable big-endian byte writer used by the AMF0 and AMF3 encoders. */
import { TidecastError } from '../../errors.js';
import { EcmaArray } from './types.js';

export class AmfWriter {
  private buf = Buffer.allocUnsafe(256);
  private len = 0;

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v & 0xff;
  }

  u16(v: number): void {
    this.ensure(2);
    this.len = this.buf.writeUInt16BE(v, this.len);
  }

  u32(v: number): void {
    this.ensure(4);
    this.len = this.buf.writeUInt32BE(v, this.len);
  }

  f64(v: number): void {
    this.ensure(8);
    this.len = this.buf.writeDoubleBE(v, this.len);
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  /** A copy of the bytes written so far. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.len));
  }
}

/** What kind of AmfValue a JavaScript value is, for the encoders. */
export type ValueKind =
  | 'undefined'
  | 'null'
  | 'boolean'
  | 'number'
  | 'string'
  | 'date'
  | 'buffer'
  | 'array'
  | 'ecma'
  | 'object';

export function kindOf(v: unknown): ValueKind {
  switch (typeof v) {
    case 'undefined':
      return 'undefined';
    case 'boolean':
      return 'boolean';
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    case 'object':
      if (v === null) return 'null';
      if (v instanceof Date) return 'date';
      if (Buffer.isBuffer(v)) return 'buffer';
      if (Array.isArray(v)) return 'array';
      if (v instanceof EcmaArray) return 'ecma';
      return 'object';
    default:
      throw new TidecastError('AMF_BAD_MARKER', `cannot encode a ${typeof v} as AMF`);
  }
}

/** Encoders refuse to nest deeper than the decoders accept by default (this also stops on cyclic input). */
export function checkEncodeDepth(depth: number, maxDepth: number): void {
  if (depth >= maxDepth) throw new TidecastError('AMF_TOO_DEEP', `nesting deeper than ${maxDepth}`);
}
