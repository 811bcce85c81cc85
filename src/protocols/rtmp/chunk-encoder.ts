/**
 * RTMP chunk stream writer (RTMP 1.0 §5.3), sans-I/O.
 *
 * - `encodeMessage` / `encodeMessages` are stateless: every message gets a fmt-0 header (absolute timestamp)
 *   followed by fmt-3 continuation chunks, so identical input gives identical bytes and one encoding can be
 *   shared by every viewer of a stream.
 * - `ChunkEncoder` keeps per-csid header state and compresses headers with fmt 1/2/3 (§5.3.1.2); it is what
 *   our relay client uses when publishing.
 *
 * Extended timestamp (§5.3.1.3, protocol brief rule 4): when the 24-bit field would be >= 0xFFFFFF it holds
 * 0xFFFFFF and the full 32-bit value follows the message header. We also repeat those 4 bytes on every fmt-3
 * chunk while the last fmt 0/1/2 header of that csid was extended, as the spec, FMS, ffmpeg and SRS do
 * (librtmp and OBS before PR #10097 omitted them and ffmpeg players broke after 4 h 39 m).
 */
import { TidecastError } from '../../errors.js';
import type { RtmpMessage } from './message.js';

/** Largest csid expressible by the 3-byte basic header (§5.3.1.1). */
export const MAX_CHUNK_STREAM_ID = 65599;
/** Value of the 24-bit timestamp field announcing an extended timestamp (§5.3.1.3). */
export const EXTENDED_TIMESTAMP = 0xffffff;
/** Message header length by fmt (§5.3.1.2): 11, 7, 3, 0 bytes. */
export const MESSAGE_HEADER_LENGTH: readonly number[] = [11, 7, 3, 0];

/** Basic header length for a csid: 1 byte for 2..63, 2 bytes for 64..319, 3 bytes above (§5.3.1.1). */
export function basicHeaderLength(csid: number): number {
  return csid < 64 ? 1 : csid < 320 ? 2 : 3;
}

function writeBasicHeader(buf: Buffer, off: number, fmt: number, csid: number): number {
  if (csid < 64) {
    buf[off] = (fmt << 6) | csid;
    return off + 1;
  }
  if (csid < 320) {
    buf[off] = fmt << 6;
    buf[off + 1] = csid - 64;
    return off + 2;
  }
  const v = csid - 64; // 3-byte form: second byte is the low byte (§5.3.1.1, "ID 365 -> 1, 301")
  buf[off] = (fmt << 6) | 1;
  buf[off + 1] = v & 0xff;
  buf[off + 2] = v >>> 8;
  return off + 3;
}

/** Writes a fmt 0/1/2 message header (without basic header) plus the extended field when needed. */
function writeMessageHeader(buf: Buffer, off: number, fmt: number, value: number, msg: RtmpMessage): number {
  const extended = value >= EXTENDED_TIMESTAMP;
  off = buf.writeUIntBE(extended ? EXTENDED_TIMESTAMP : value, off, 3);
  if (fmt <= 1) {
    off = buf.writeUIntBE(msg.payload.length, off, 3);
    buf[off++] = msg.type;
  }
  if (fmt === 0) off = buf.writeUInt32LE(msg.streamId >>> 0, off); // msid is little-endian (§5.3.1.2.5)
  return extended ? buf.writeUInt32BE(value, off) : off;
}

/** Writes the payload: first chunk's data, then fmt-3 continuation chunks (ext >= 0: repeat that value). */
function writeBody(buf: Buffer, off: number, csid: number, payload: Buffer, chunkSize: number, ext: number) {
  let pos = 0;
  for (;;) {
    const n = Math.min(chunkSize, payload.length - pos);
    payload.copy(buf, off, pos, pos + n);
    off += n;
    pos += n;
    if (pos >= payload.length) return off;
    off = writeBasicHeader(buf, off, 3, csid);
    if (ext >= 0) off = buf.writeUInt32BE(ext, off);
  }
}

/** Total bytes of one message: first header, every continuation header, payload. */
function chunkedLength(csid: number, fmt: number, extended: boolean, length: number, chunkSize: number) {
  const bh = basicHeaderLength(csid);
  const ext = extended ? 4 : 0;
  const chunks = Math.max(1, Math.ceil(length / chunkSize));
  return bh + MESSAGE_HEADER_LENGTH[fmt] + ext + length + (chunks - 1) * (bh + ext);
}

/** Chunk size must be 1..0xFFFFFF (§5.4.1: larger values are all equivalent, so we never need them). */
export function assertChunkSize(n: number): void {
  if (!Number.isInteger(n) || n < 1 || n > 0xffffff) {
    throw new TidecastError('RTMP_BAD_CHUNK_SIZE', `chunk size ${n} outside 1..16777215`);
  }
}

function assertMessage(msg: RtmpMessage): void {
  const { csid, type, streamId } = msg;
  if (!Number.isInteger(csid) || csid < 2 || csid > MAX_CHUNK_STREAM_ID) {
    throw new TidecastError('RTMP_BAD_CHUNK_HEADER', `csid ${csid} outside 2..65599`);
  }
  if (!Number.isInteger(type) || type < 0 || type > 0xff) {
    throw new TidecastError('RTMP_BAD_CHUNK_HEADER', `message type ${type} outside 0..255`);
  }
  if (!Number.isInteger(streamId) || streamId < 0 || streamId > 0xffffffff) {
    throw new TidecastError('RTMP_BAD_CHUNK_HEADER', `message stream id ${streamId} outside uint32`);
  }
  if (msg.payload.length > 0xffffff) {
    throw new TidecastError(
      'RTMP_MESSAGE_TOO_LARGE',
      `payload of ${msg.payload.length} bytes exceeds 24 bits`,
    );
  }
}

function encodedLength(msg: RtmpMessage, chunkSize: number): number {
  assertMessage(msg);
  const extended = msg.timestamp >>> 0 >= EXTENDED_TIMESTAMP;
  return chunkedLength(msg.csid, 0, extended, msg.payload.length, chunkSize);
}

function writeMessage(buf: Buffer, off: number, msg: RtmpMessage, chunkSize: number): number {
  const ts = msg.timestamp >>> 0; // timestamps are uint32, modulo 2^32
  off = writeBasicHeader(buf, off, 0, msg.csid);
  off = writeMessageHeader(buf, off, 0, ts, msg);
  return writeBody(buf, off, msg.csid, msg.payload, chunkSize, ts >= EXTENDED_TIMESTAMP ? ts : -1);
}

/**
 * Stateless: one fmt-0 header (absolute timestamp) then fmt-3 continuation chunks. Identical input gives
 * identical bytes, so one encoding can be shared by every viewer. Writes the extended timestamp on every
 * chunk (fmt 0 and each fmt 3) when timestamp >= 0xFFFFFF.
 */
export function encodeMessage(msg: RtmpMessage, chunkSize: number): Buffer {
  assertChunkSize(chunkSize);
  const buf = Buffer.allocUnsafe(encodedLength(msg, chunkSize));
  writeMessage(buf, 0, msg, chunkSize);
  return buf;
}

/** Encode several messages into one Buffer (one allocation). */
export function encodeMessages(msgs: RtmpMessage[], chunkSize: number): Buffer {
  assertChunkSize(chunkSize);
  let total = 0;
  for (const msg of msgs) total += encodedLength(msg, chunkSize);
  const buf = Buffer.allocUnsafe(total);
  let off = 0;
  for (const msg of msgs) off = writeMessage(buf, off, msg, chunkSize);
  return buf;
}

interface EncoderStreamState {
  streamId: number;
  type: number;
  length: number;
  timestamp: number;
  /** Delta registered by the last fmt 1/2 header; -1 after a fmt 0 (no fmt-3 reuse until one is sent). */
  delta: number;
  /** Value of the extended field of the last fmt 0/1/2 header, -1 if it had none. */
  ext: number;
}

/**
 * Stateful encoder that compresses headers (§5.3.1.2): fmt 0 for the first message on a csid, a new msid or
 * a timestamp going backwards (§5.3.1.2.1 "MUST"); fmt 1 for a new length/type; fmt 2 for a new delta; fmt 3
 * when length, type, msid and delta all repeat (Example 1, §5.3.2.1). We only re-use a delta that a fmt 1/2
 * header registered explicitly: the spec lets a fmt 3 follow a fmt 0 using its timestamp as delta, but older
 * readers disagree on that case, so we do not rely on it. Round-trips through ChunkDecoder.
 */
export class ChunkEncoder {
  private chunkSize: number;
  private readonly streams = new Map<number, EncoderStreamState>();

  constructor(chunkSize = 128) {
    assertChunkSize(chunkSize);
    this.chunkSize = chunkSize;
  }

  /** Call right after encoding the Set Chunk Size message that announces it (it applies to later chunks). */
  setChunkSize(n: number): void {
    assertChunkSize(n);
    this.chunkSize = n;
  }

  encode(msg: RtmpMessage): Buffer {
    assertMessage(msg);
    const ts = msg.timestamp >>> 0;
    const length = msg.payload.length;
    let st = this.streams.get(msg.csid);
    let fmt: number;
    let value = ts;
    if (st === undefined || st.streamId !== msg.streamId || ts < st.timestamp) {
      fmt = 0;
    } else {
      value = ts - st.timestamp;
      if (length !== st.length || msg.type !== st.type) fmt = 1;
      else fmt = value === st.delta ? 3 : 2;
    }
    if (st === undefined) {
      st = { streamId: 0, type: 0, length: 0, timestamp: 0, delta: -1, ext: -1 };
      this.streams.set(msg.csid, st);
    }
    if (fmt < 3) {
      st.ext = value >= EXTENDED_TIMESTAMP ? value : -1;
      st.delta = fmt === 0 ? -1 : value;
    }
    st.streamId = msg.streamId;
    st.type = msg.type;
    st.length = length;
    st.timestamp = ts;

    const buf = Buffer.allocUnsafe(chunkedLength(msg.csid, fmt, st.ext >= 0, length, this.chunkSize));
    let off = writeBasicHeader(buf, 0, fmt, msg.csid);
    if (fmt < 3) off = writeMessageHeader(buf, off, fmt, value, msg);
    else if (st.ext >= 0) off = buf.writeUInt32BE(st.ext, off); // fmt 3 new message repeats the field
    writeBody(buf, off, msg.csid, msg.payload, this.chunkSize, st.ext);
    return buf;
  }
}
