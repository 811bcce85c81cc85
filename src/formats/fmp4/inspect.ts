/**
 * A minimal ISO BMFF box walker (ISO/IEC 14496-12 §4.2) for checking muxer output in tests (ours
 * and other modules' that consume fMP4): lists boxes, checks that sizes tile their parent exactly,
 * and descends through plain container boxes.
 */

export interface BoxInfo {
  type: string;
  /** absolute offset of the box's first byte in the walked buffer */
  start: number;
  /** total size including the header */
  size: number;
  headerSize: number;
  /** absolute offset one past the box */
  end: number;
  /** the bytes after the header (a view into the walked buffer) */
  payload: Buffer;
}

/** Boxes whose payload is nothing but child boxes. */
export const CONTAINER_BOXES = new Set([
  'moov',
  'trak',
  'mdia',
  'minf',
  'stbl',
  'dinf',
  'mvex',
  'moof',
  'traf',
  'edts',
]);

/**
 * The boxes laid end to end in buf[start, end). Throws when a header is truncated or a size does not
 * fit, so a successful walk proves the sizes add up to exactly `end - start`.
 */
export function readBoxes(buf: Buffer, start = 0, end = buf.length): BoxInfo[] {
  const out: BoxInfo[] = [];
  let off = start;
  while (off < end) {
    if (off + 8 > end) throw new Error(`truncated box header at ${off}`);
    let size = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    let headerSize = 8;
    if (size === 1) {
      if (off + 16 > end) throw new Error(`truncated largesize at ${off}`);
      size = Number(buf.readBigUInt64BE(off + 8));
      headerSize = 16;
    } else if (size === 0) {
      size = end - off; // box extends to the end (§4.2)
    }
    if (size < headerSize || off + size > end) throw new Error(`box ${type} at ${off}: bad size ${size}`);
    out.push({
      type,
      start: off,
      size,
      headerSize,
      end: off + size,
      payload: buf.subarray(off + headerSize, off + size),
    });
    off += size;
  }
  return out;
}

/** The children of a container box (absolute offsets preserved). */
export function children(buf: Buffer, parent: BoxInfo, skip = 0): BoxInfo[] {
  return readBoxes(buf, parent.start + parent.headerSize + skip, parent.end);
}

/**
 * Every box reached by following `path` (e.g. ['moof', 'traf', 'trun']) through container boxes,
 * starting from the top level of buf.
 */
export function findBoxes(buf: Buffer, path: string[]): BoxInfo[] {
  let level = readBoxes(buf);
  for (let i = 0; i < path.length; i++) {
    const matches = level.filter((b) => b.type === path[i]);
    if (i === path.length - 1) return matches;
    level = matches.flatMap((b) => {
      if (!CONTAINER_BOXES.has(b.type)) throw new Error(`${b.type} is not a container box`);
      return children(buf, b);
    });
  }
  return level;
}

/** The single box at `path`; throws when there is not exactly one. */
export function findBox(buf: Buffer, path: string[]): BoxInfo {
  const found = findBoxes(buf, path);
  if (found.length !== 1) throw new Error(`${path.join('/')}: ${found.length} boxes`);
  return found[0];
}

/** version and flags of a FullBox (§4.2). */
export function fullBoxHeader(b: BoxInfo): { version: number; flags: number } {
  return { version: b.payload[0], flags: b.payload.readUIntBE(1, 3) };
}

/** tfdt (§8.8.12): baseMediaDecodeTime, 32 or 64 bits by version. */
export function readTfdt(b: BoxInfo): { version: number; baseMediaDecodeTime: number } {
  const { version } = fullBoxHeader(b);
  const t = version === 1 ? Number(b.payload.readBigUInt64BE(4)) : b.payload.readUInt32BE(4);
  return { version, baseMediaDecodeTime: t };
}

/** tfhd (§8.8.7): track_ID and tf_flags (optional fields are not decoded). */
export function readTfhd(b: BoxInfo): { flags: number; trackId: number } {
  return { flags: fullBoxHeader(b).flags, trackId: b.payload.readUInt32BE(4) };
}

export interface TrunInfo {
  version: number;
  flags: number;
  dataOffset?: number;
  samples: { duration?: number; size?: number; flags?: number; compositionOffset?: number }[];
}

/** trun (§8.8.8), every optional field decoded; composition offsets signed for version 1. */
export function readTrun(b: BoxInfo): TrunInfo {
  const { version, flags } = fullBoxHeader(b);
  const p = b.payload;
  const count = p.readUInt32BE(4);
  let off = 8;
  const info: TrunInfo = { version, flags, samples: [] };
  if (flags & 0x1) {
    info.dataOffset = p.readInt32BE(off);
    off += 4;
  }
  if (flags & 0x4) off += 4; // first_sample_flags
  for (let i = 0; i < count; i++) {
    const s: TrunInfo['samples'][number] = {};
    const next = (): number => {
      off += 4;
      return off - 4;
    };
    if (flags & 0x100) s.duration = p.readUInt32BE(next());
    if (flags & 0x200) s.size = p.readUInt32BE(next());
    if (flags & 0x400) s.flags = p.readUInt32BE(next());
    if (flags & 0x800) {
      const at = next();
      s.compositionOffset = version === 1 ? p.readInt32BE(at) : p.readUInt32BE(at);
    }
    info.samples.push(s);
  }
  if (off !== p.length) throw new Error(`trun: ${p.length - off} unexplained bytes`);
  return info;
}
