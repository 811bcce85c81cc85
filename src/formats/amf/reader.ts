/**
 * Bounds-checked cursor and per-call decoding state shared by the AMF0 and AMF3 decoders.
 * Every read checks the remaining bytes first, so a short buffer raises AMF_TRUNCATED, never a RangeError.
 */
import { TidecastError } from '../../errors.js';
import { type AmfLimits, type AmfObject, type AmfValue, DEFAULT_AMF_LIMITS } from './types.js';

/** Hard ceiling on maxDepth, whatever the caller asks for. */
export const MAX_DEPTH_CAP = 1000;

export function resolveLimits(limits?: Partial<AmfLimits>): AmfLimits {
  const l = { ...DEFAULT_AMF_LIMITS, ...limits };
  for (const k of ['maxDepth', 'maxStringBytes', 'maxItems'] as const) {
    if (!Number.isFinite(l[k]) || l[k] < 0) l[k] = DEFAULT_AMF_LIMITS[k];
  }
  // The decoders recurse once or twice per level: keep well clear of the JavaScript stack limit.
  l.maxDepth = Math.min(l.maxDepth, MAX_DEPTH_CAP);
  return l;
}

/** Set an own enumerable property; a "__proto__" key must not replace the prototype. */
export function setProp(obj: AmfObject, key: string, value: AmfValue): void {
  if (key === '__proto__') {
    Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  } else {
    obj[key] = value;
  }
}

interface RefEntry {
  value: AmfValue;
  /** false while the value is still being decoded: a reference to it would create a cycle. */
  done: boolean;
  /** Values in the subtree (counted again when referenced). */
  size: number;
  /** Container levels in the subtree (0 for leaves). */
  height: number;
  startNodes: number;
  savedDeepest: number;
  depth: number;
}

/**
 * Table of complex values that can be referenced later (AMF0 §2.9, AMF3 §2.2 object table).
 * Entries are reserved when a container starts (indices follow the order in which containers begin),
 * filled when it ends. Referencing an unfinished entry (a cycle) is rejected, so decoded trees are acyclic.
 */
export class RefTable {
  private readonly entries: RefEntry[] = [];
  constructor(private readonly r: AmfReader) {}

  /** Start a container at `depth`; returns its index. */
  open(depth: number): number {
    const r = this.r;
    if (depth >= r.limits.maxDepth) {
      throw new TidecastError('AMF_TOO_DEEP', `nesting deeper than ${r.limits.maxDepth}`);
    }
    const e: RefEntry = {
      value: undefined,
      done: false,
      size: 1,
      height: 1,
      startNodes: r.nodes,
      savedDeepest: r.deepest,
      depth,
    };
    r.deepest = depth + 1;
    return this.entries.push(e) - 1;
  }

  /** Finish the container `index` with its decoded value. */
  close(index: number, value: AmfValue): void {
    const r = this.r;
    const e = this.entries[index]!;
    e.value = value;
    e.done = true;
    e.size = r.nodes - e.startNodes + 1;
    e.height = r.deepest - e.depth;
    r.deepest = Math.max(e.savedDeepest, r.deepest);
  }

  /** Register a leaf (AMF3 date, XML, ByteArray). */
  addLeaf(value: AmfValue): void {
    this.entries.push({ value, done: true, size: 1, height: 0, startNodes: 0, savedDeepest: 0, depth: 0 });
  }

  /** Resolve a reference found at `depth`. */
  get(index: number, depth: number): AmfValue {
    const r = this.r;
    const e = this.entries[index];
    if (e === undefined) {
      throw new TidecastError(
        'AMF_BAD_REFERENCE',
        `object reference ${index} out of range (${this.entries.length})`,
      );
    }
    if (!e.done) throw new TidecastError('AMF_BAD_REFERENCE', `cyclic reference to object ${index}`);
    if (depth + e.height > r.limits.maxDepth) {
      throw new TidecastError('AMF_TOO_DEEP', `reference ${index} nests deeper than ${r.limits.maxDepth}`);
    }
    r.countNodes(e.size - 1);
    r.deepest = Math.max(r.deepest, depth + e.height);
    return e.value;
  }
}

/** AMF3 traits (AMF3 §3.12). */
export interface Amf3Traits {
  className: string;
  externalizable: boolean;
  dynamic: boolean;
  sealed: string[];
}

/** AMF3 reference tables (AMF3 §2.2); one set per message, shared by every AMF0 0x11 switch in it. */
export interface Amf3Tables {
  strings: string[];
  traits: Amf3Traits[];
  objects: RefTable;
}

export class AmfReader {
  pos: number;
  /** Values decoded so far, including subtrees reached through references. */
  nodes = 0;
  /** Deepest container level (depth + 1) reached inside the innermost open container. */
  deepest = 0;
  readonly amf0Refs: RefTable;
  private amf3Tables: Amf3Tables | undefined;

  constructor(
    readonly buf: Buffer,
    offset: number,
    readonly limits: AmfLimits,
  ) {
    if (!Number.isInteger(offset) || offset < 0 || offset > buf.length) {
      throw new TidecastError('AMF_TRUNCATED', `offset ${offset} outside buffer of ${buf.length} bytes`);
    }
    this.pos = offset;
    this.amf0Refs = new RefTable(this);
  }

  get amf3(): Amf3Tables {
    this.amf3Tables ??= { strings: [], traits: [], objects: new RefTable(this) };
    return this.amf3Tables;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  need(n: number): void {
    if (n > this.buf.length - this.pos) {
      throw new TidecastError(
        'AMF_TRUNCATED',
        `need ${n} bytes at offset ${this.pos}, have ${this.remaining}`,
      );
    }
  }

  countNodes(n: number): void {
    this.nodes += n;
    if (this.nodes > this.limits.maxItems) {
      throw new TidecastError('AMF_TOO_LONG', `more than ${this.limits.maxItems} values`);
    }
  }

  /** Check a count field: at most maxItems, and each item needs at least `minBytes` of the remaining input. */
  checkCount(count: number, minBytes: number): void {
    if (count > this.limits.maxItems) {
      throw new TidecastError('AMF_TOO_LONG', `count ${count} exceeds ${this.limits.maxItems}`);
    }
    if (count * minBytes > this.remaining) {
      throw new TidecastError(
        'AMF_TRUNCATED',
        `count ${count} needs more than the ${this.remaining} bytes left`,
      );
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++]!;
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  s32(): number {
    this.need(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return v;
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  /** UTF-8 text of `len` bytes (AMF0 §1.3.1, AMF3 §1.3.2); invalid sequences become U+FFFD. */
  utf8(len: number): string {
    this.checkLength(len);
    const s = this.buf.toString('utf8', this.pos, this.pos + len);
    this.pos += len;
    return s;
  }

  /** A copy of the next `len` bytes (the input may be a reused network buffer). */
  bytes(len: number): Buffer {
    this.checkLength(len);
    const b = Buffer.from(this.buf.subarray(this.pos, this.pos + len));
    this.pos += len;
    return b;
  }

  private checkLength(len: number): void {
    if (len > this.limits.maxStringBytes) {
      throw new TidecastError('AMF_TOO_LONG', `length ${len} exceeds ${this.limits.maxStringBytes} bytes`);
    }
    this.need(len);
  }
}
