/**
 * Tiny ISO BMFF box builder (ISO/IEC 14496-12 §4.2 "Object structure"): a box is a 32-bit size,
 * a four-character type and a payload; a FullBox adds an 8-bit version and 24-bit flags. Every
 * other file in this folder builds its boxes with these helpers, one writer function per box.
 */

/** Largest size a compact (32-bit) box header can carry. */
const MAX_COMPACT_SIZE = 0xffffffff;

/** A four-character code as 4 Latin-1 bytes (box types, brands, handler types). */
export function fourcc(code: string): Buffer {
  if (code.length !== 4) throw new RangeError(`four-character code expected, got "${code}"`);
  return Buffer.from(code, 'latin1');
}

/** Box header for a payload of `payloadSize` bytes: compact, or `largesize` (size = 1) beyond 4 GiB (§4.2). */
export function boxHeader(type: string, payloadSize: number): Buffer {
  const compact = 8 + payloadSize;
  if (compact <= MAX_COMPACT_SIZE) {
    const out = Buffer.allocUnsafe(8);
    out.writeUInt32BE(compact, 0);
    fourcc(type).copy(out, 4);
    return out;
  }
  const out = Buffer.allocUnsafe(16);
  out.writeUInt32BE(1, 0);
  fourcc(type).copy(out, 4);
  out.writeBigUInt64BE(BigInt(16 + payloadSize), 8);
  return out;
}

/** `aligned(8) class Box(type)` (§4.2): header + the concatenated payload parts (fields and child boxes). */
export function box(type: string, ...payload: Buffer[]): Buffer {
  let size = 0;
  for (const p of payload) size += p.length;
  const header = boxHeader(type, size);
  return Buffer.concat([header, ...payload], header.length + size);
}

/** `aligned(8) class FullBox(type, v, flags)` (§4.2): a Box whose payload starts with version (8) + flags (24). */
export function fullBox(type: string, version: number, flags: number, ...payload: Buffer[]): Buffer {
  const head = Buffer.allocUnsafe(4);
  head.writeUInt8(version, 0);
  head.writeUIntBE(flags, 1, 3);
  return box(type, head, ...payload);
}

// Big-endian field writers (ISO BMFF fields are network byte order, §4.2).

export function u8(v: number): Buffer {
  const b = Buffer.allocUnsafe(1);
  b.writeUInt8(v, 0);
  return b;
}

export function u16(v: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16BE(v, 0);
  return b;
}

export function i16(v: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeInt16BE(v, 0);
  return b;
}

export function u24(v: number): Buffer {
  const b = Buffer.allocUnsafe(3);
  b.writeUIntBE(v, 0, 3);
  return b;
}

export function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(v, 0);
  return b;
}

export function i32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeInt32BE(v, 0);
  return b;
}

/** Unsigned 64-bit from a safe integer. */
export function u64(v: number): Buffer {
  if (!Number.isSafeInteger(v) || v < 0)
    throw new RangeError(`u64 field needs a non-negative safe integer: ${v}`);
  const b = Buffer.allocUnsafe(8);
  b.writeBigUInt64BE(BigInt(v), 0);
  return b;
}

export function zeros(n: number): Buffer {
  return Buffer.alloc(n);
}

/** 16.16 fixed point (§8.3.2 width/height, §8.2.2 rate). */
export function fixed16_16(v: number): Buffer {
  return u32(Math.round(v * 0x10000));
}

/** Null-terminated UTF-8 string (§8.4.3 hdlr name). */
export function cstring(s: string): Buffer {
  return Buffer.concat([Buffer.from(s, 'utf8'), zeros(1)]);
}

/** The unity transformation matrix {0x00010000,0,0, 0,0x00010000,0, 0,0,0x40000000} (§8.2.2, §8.3.2). */
export function unityMatrix(): Buffer {
  const m = Buffer.alloc(36);
  m.writeUInt32BE(0x00010000, 0);
  m.writeUInt32BE(0x00010000, 16);
  m.writeUInt32BE(0x40000000, 32);
  return m;
}
