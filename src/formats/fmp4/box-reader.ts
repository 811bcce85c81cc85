/**
 * Bounds-checked reading of ISO BMFF boxes (ISO/IEC 14496-12 §4.2): a cursor over one box's payload and the
 * child boxes of a container. Errors: MP4_TRUNCATED (a box shorter than its fields), MP4_BAD_BOX (sizes or values
 * that cannot be right).
 */
import { TidecastError } from '../../errors.js';

export function truncated(what: string): TidecastError {
  return new TidecastError('MP4_TRUNCATED', what);
}

export function badBox(what: string): TidecastError {
  return new TidecastError('MP4_BAD_BOX', what);
}

/** A bounds-checked cursor over one box's payload. */
export class Cursor {
  constructor(
    readonly buf: Buffer,
    public off: number,
    readonly end: number,
    readonly box: string,
  ) {}

  need(n: number, what: string): void {
    if (n < 0 || this.off + n > this.end) throw truncated(`${this.box}: truncated ${what}`);
  }

  u8(what: string): number {
    this.need(1, what);
    return this.buf[this.off++];
  }

  u16(what: string): number {
    this.need(2, what);
    const v = this.buf.readUInt16BE(this.off);
    this.off += 2;
    return v;
  }

  u32(what: string): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.off);
    this.off += 4;
    return v;
  }

  i32(what: string): number {
    this.need(4, what);
    const v = this.buf.readInt32BE(this.off);
    this.off += 4;
    return v;
  }

  u64(what: string): number {
    this.need(8, what);
    const v = this.buf.readBigUInt64BE(this.off);
    this.off += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw badBox(`${this.box}: ${what} ${v} too large`);
    return Number(v);
  }

  skip(n: number, what: string): void {
    this.need(n, what);
    this.off += n;
  }

  bytes(n: number, what: string): Buffer {
    this.need(n, what);
    const b = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return b;
  }

  /** version + flags of a FullBox */
  full(): { version: number; flags: number } {
    const v = this.u32('version/flags');
    return { version: v >>> 24, flags: v & 0xffffff };
  }
}

export interface Child {
  type: string;
  /** payload start and end (absolute, in the parent's buffer) */
  start: number;
  end: number;
}

/** The boxes laid end to end in buf[start, end), each checked to fit. */
export function children(buf: Buffer, start: number, end: number, parent: string): Child[] {
  const out: Child[] = [];
  let off = start;
  while (off < end) {
    if (off + 8 > end) throw truncated(`${parent}: truncated child box header`);
    let size = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    let header = 8;
    if (size === 1) {
      if (off + 16 > end) throw truncated(`${parent}/${type}: truncated largesize`);
      const big = buf.readBigUInt64BE(off + 8);
      size = big > BigInt(end - off) ? Number.MAX_SAFE_INTEGER : Number(big);
      header = 16;
    } else if (size === 0) {
      size = end - off;
    }
    if (size < header) throw badBox(`${parent}/${type}: box size ${size} smaller than its header`);
    if (off + size > end) throw badBox(`${parent}/${type}: box size ${size} exceeds its parent`);
    out.push({ type, start: off + header, end: off + size });
    off += size;
  }
  return out;
}

export function find(list: Child[], type: string): Child | undefined {
  return list.find((c) => c.type === type);
}

export function must(list: Child[], type: string, parent: string): Child {
  const c = find(list, type);
  if (!c) throw badBox(`${parent}: no ${type}`);
  return c;
}

/** ES descriptor length: up to 4 bytes of 7 bits (ISO/IEC 14496-1 §8.3.3). */
