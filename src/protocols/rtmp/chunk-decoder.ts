/**
 * RTMP chunk stream reader (RTMP 1.0 §5.3), sans-I/O: bytes in, complete messages out.
 *
 * Interop rules (protocol brief §0 rules 3-5, §1.2, §1.3):
 * - csid 2..65599 in 1-, 2- or 3-byte basic headers (§5.3.1.1).
 * - The first chunk on a never-seen csid may be fmt 1/2 (librtmp pings on csid 2): missing state reads as
 *   zeros. A fmt 3 with no prior state cannot be interpreted -> RTMP_BAD_CHUNK_HEADER.
 * - Extended timestamp on fmt 3 (§5.3.1.3): while the last fmt 0/1/2 header of a csid was extended we PEEK the
 *   4 bytes after a fmt-3 basic header and consume them only if they equal the stored extended value or the
 *   timestamp of the message the chunk belongs to (ffmpeg/FMS/SRS write them; librtmp and OBS before PR
 *   #10097 do not). Like GStreamer and SRS we wait until those 4 bytes have arrived before deciding.
 * - A fmt-3 chunk that starts a new message re-applies the previous delta (FMLE sends bare 0xC4 audio).
 *   Delta bookkeeping: fmt 1/2 register their delta field; fmt 0 registers its absolute timestamp as the
 *   delta, as §5.3.1.2.4 states ("the timestamp delta for this Type 3 chunk is the same as the timestamp of
 *   the Type 0 chunk") and as ffmpeg and SRS do (SRS: 0x04 ts 26 then 0xC4 -> 52).
 * - Timestamps are uint32 and wrap modulo 2^32. An extended field on fmt 1/2 is a delta (veovera #42).
 * - Set Chunk Size (1) and Abort (2) are applied when they complete, so later bytes of the same push already
 *   use them; they are still returned. Like nginx and ffmpeg we dispatch on the type only (the spec says they
 *   travel on msid 0 / csid 2, but we do not depend on it).
 *
 * Memory: each payload is allocated once at its declared length, after checking maxMessageBytes and
 * maxBufferedBytes (sum of declared lengths of partial messages); chunk data is copied straight from the
 * input. Only an incomplete chunk header (<= 18 bytes) is kept between pushes. After a throw the decoder is
 * poisoned (it rethrows): the connection must be closed.
 */
import { TidecastError } from '../../errors.js';
import { EXTENDED_TIMESTAMP, MESSAGE_HEADER_LENGTH } from './chunk-encoder.js';
import { type ChunkLimits, DEFAULT_CHUNK_LIMITS, MessageType, type RtmpMessage } from './message.js';

/** Longest chunk header: 3-byte basic header + 11-byte fmt-0 header + 4-byte extended timestamp. */
const MAX_HEADER_LENGTH = 18;

interface ChunkStreamState {
  readonly csid: number;
  /** Absolute timestamp of the current (or last) message. */
  timestamp: number;
  /** Delta re-applied by a fmt-3 chunk that starts a new message. */
  delta: number;
  length: number;
  type: number;
  streamId: number;
  /** The last fmt 0/1/2 header carried an extended timestamp (§5.3.1.3). */
  extended: boolean;
  /** Its 32-bit value (absolute for fmt 0, delta for fmt 1/2). */
  extValue: number;
  /** Message being reassembled, null between messages. */
  payload: Buffer | null;
  received: number;
}

export class ChunkDecoder {
  private readonly limits: ChunkLimits;
  private readonly streams = new Map<number, ChunkStreamState>();
  private peerChunkSize = 128;
  private received = 0;
  private buffered = 0;
  /** Incomplete chunk header carried over to the next push (<= 18 bytes). */
  private pending: Buffer | null = null;
  /** Chunk whose data is being copied, and how many data bytes it still has. */
  private cur: ChunkStreamState | null = null;
  private chunkLeft = 0;
  private failure: unknown = null;
  // Last parsed header (fields instead of an object: one header per chunk on the hot path).
  private hFmt = 0;
  private hCsid = 0;
  private hTimestamp = 0;
  private hExtended = false;
  private hLength = 0;
  private hType = 0;
  private hStreamId = 0;

  constructor(limits?: Partial<ChunkLimits>) {
    this.limits = { ...DEFAULT_CHUNK_LIMITS, ...limits };
  }

  /** Current peer (incoming) chunk size; starts at 128 (§5.4.1). */
  get chunkSize(): number {
    return this.peerChunkSize;
  }

  /** Total bytes consumed, for Acknowledgement (caller does the window math and the 2^32 wrap). */
  get bytesReceived(): number {
    return this.received;
  }

  /** Feed any slice; returns the messages completed by it, in order. Throws TidecastError past a limit or on a protocol violation. */
  push(bytes: Buffer): RtmpMessage[] {
    if (this.failure !== null) throw this.failure;
    this.received += bytes.length;
    const out: RtmpMessage[] = [];
    try {
      let off = 0;
      const pending = this.pending;
      if (pending !== null) {
        // Complete the carried-over header with at most MAX_HEADER_LENGTH input bytes (no full-input copy).
        this.pending = null;
        const k = pending.length;
        const head = Buffer.concat([pending, bytes.subarray(0, MAX_HEADER_LENGTH)]);
        const stop = this.run(head, 0, out);
        if (stop < k) {
          // Still incomplete: then `head` holds all of `bytes` (a header never exceeds 18 bytes).
          this.pending = head.subarray(stop);
          return out;
        }
        off = stop - k;
      }
      const stop = this.run(bytes, off, out);
      if (stop < bytes.length) this.pending = Buffer.from(bytes.subarray(stop));
      return out;
    } catch (err) {
      this.failure = err;
      throw err;
    }
  }

  /** Processes buf[off..]; returns where it stopped: buf.length, or the start of an incomplete header. */
  private run(buf: Buffer, off: number, out: RtmpMessage[]): number {
    const end = buf.length;
    for (;;) {
      const st = this.cur;
      if (st !== null) {
        const n = Math.min(this.chunkLeft, end - off);
        buf.copy(st.payload!, st.received, off, off + n);
        off += n;
        st.received += n;
        this.chunkLeft -= n;
        if (this.chunkLeft > 0) return off;
        this.cur = null;
        if (st.received === st.length) this.complete(st, out);
        continue;
      }
      if (off >= end) return off;
      const used = this.parseHeader(buf, off, end);
      if (used === 0) return off;
      off += used;
      this.applyHeader(out);
    }
  }

  /** Parses one chunk header without touching stream state; returns its length, 0 if more bytes are needed. */
  private parseHeader(buf: Buffer, off: number, end: number): number {
    const avail = end - off;
    const b0 = buf[off];
    const fmt = b0 >>> 6;
    let csid = b0 & 0x3f;
    let p = 1;
    if (csid === 0) {
      if (avail < 2) return 0;
      csid = buf[off + 1] + 64;
      p = 2;
    } else if (csid === 1) {
      if (avail < 3) return 0;
      csid = buf[off + 1] + buf[off + 2] * 256 + 64;
      p = 3;
    }
    this.hFmt = fmt;
    this.hCsid = csid;
    if (fmt === 3) {
      const st = this.streams.get(csid);
      if (st === undefined) {
        throw new TidecastError(
          'RTMP_BAD_CHUNK_HEADER',
          `fmt 3 chunk on csid ${csid} without a previous header`,
        );
      }
      if (!st.extended) return p;
      if (avail < p + 4) return 0; // must see all 4 bytes before deciding whether they are ext-ts or data
      const v = buf.readUInt32BE(off + p);
      const expected = st.payload !== null ? st.timestamp : (st.timestamp + st.delta) >>> 0;
      return v === st.extValue || v === expected ? p + 4 : p;
    }
    const hl = MESSAGE_HEADER_LENGTH[fmt];
    if (avail < p + hl) return 0;
    const h = off + p;
    let ts = buf.readUIntBE(h, 3);
    if (fmt <= 1) {
      this.hLength = buf.readUIntBE(h + 3, 3);
      this.hType = buf[h + 6];
    }
    if (fmt === 0) this.hStreamId = buf.readUInt32LE(h + 7); // msid is little-endian (§5.3.1.2.5)
    p += hl;
    this.hExtended = ts === EXTENDED_TIMESTAMP;
    if (this.hExtended) {
      if (avail < p + 4) return 0;
      ts = buf.readUInt32BE(off + p);
      p += 4;
    }
    this.hTimestamp = ts;
    return p;
  }

  /** Applies the parsed header to its chunk stream and starts (or continues) a message. */
  private applyHeader(out: RtmpMessage[]): void {
    const csid = this.hCsid;
    let st = this.streams.get(csid);
    if (st === undefined) {
      if (this.streams.size >= this.limits.maxChunkStreams) {
        throw new TidecastError(
          'RTMP_TOO_MANY_CHUNK_STREAMS',
          `more than ${this.limits.maxChunkStreams} csids`,
        );
      }
      st = {
        csid,
        timestamp: 0,
        delta: 0,
        length: 0,
        type: 0,
        streamId: 0,
        extended: false,
        extValue: 0,
        payload: null,
        received: 0,
      };
      this.streams.set(csid, st);
    }
    const fmt = this.hFmt;
    if (fmt < 3) {
      if (st.payload !== null) {
        // SRS rejects this too: the partial message would be silently lost.
        throw new TidecastError('RTMP_BAD_CHUNK_HEADER', `fmt ${fmt} header on csid ${csid} mid-message`);
      }
      const ts = this.hTimestamp;
      st.delta = ts; // fmt 0: its timestamp serves as the delta of a following fmt 3 (§5.3.1.2.4)
      st.timestamp = fmt === 0 ? ts : (st.timestamp + ts) >>> 0;
      if (fmt === 0) st.streamId = this.hStreamId;
      if (fmt <= 1) {
        st.length = this.hLength;
        st.type = this.hType;
      }
      st.extended = this.hExtended;
      st.extValue = ts;
    } else if (st.payload === null) {
      st.timestamp = (st.timestamp + st.delta) >>> 0; // fmt 3 starting a new message (§5.3.2.1)
    }
    if (st.payload === null) this.startMessage(st);
    if (st.received === st.length) {
      this.complete(st, out); // zero-length message: the header is the whole chunk
      return;
    }
    this.cur = st;
    this.chunkLeft = Math.min(this.peerChunkSize, st.length - st.received);
  }

  private startMessage(st: ChunkStreamState): void {
    const { maxMessageBytes, maxBufferedBytes } = this.limits;
    if (st.length > maxMessageBytes) {
      throw new TidecastError(
        'RTMP_MESSAGE_TOO_LARGE',
        `message of ${st.length} bytes (max ${maxMessageBytes})`,
      );
    }
    if (this.buffered + st.length > maxBufferedBytes) {
      throw new TidecastError('RTMP_BUFFER_LIMIT', `over ${maxBufferedBytes} bytes in partial messages`);
    }
    this.buffered += st.length;
    st.payload = Buffer.allocUnsafe(st.length);
    st.received = 0;
  }

  private complete(st: ChunkStreamState, out: RtmpMessage[]): void {
    const payload = st.payload!;
    st.payload = null;
    this.buffered -= st.length;
    out.push({ csid: st.csid, type: st.type, streamId: st.streamId, timestamp: st.timestamp, payload });
    if (st.type === MessageType.SetChunkSize) this.setChunkSize(payload);
    else if (st.type === MessageType.Abort && payload.length >= 4) this.abort(payload.readUInt32BE(0));
  }

  /** §5.4.1: 31-bit value, top bit ignored; we accept 1..maxChunkSize. */
  private setChunkSize(payload: Buffer): void {
    if (payload.length < 4) {
      throw new TidecastError('RTMP_BAD_CHUNK_SIZE', `Set Chunk Size payload of ${payload.length} bytes`);
    }
    const size = payload.readUInt32BE(0) & 0x7fffffff;
    if (size === 0 || size > this.limits.maxChunkSize) {
      throw new TidecastError(
        'RTMP_BAD_CHUNK_SIZE',
        `chunk size ${size} outside 1..${this.limits.maxChunkSize}`,
      );
    }
    this.peerChunkSize = size;
  }

  /** §5.4.2: discard the partial message on that csid; its header state stays for later fmt 1/2/3 chunks. */
  private abort(csid: number): void {
    const st = this.streams.get(csid);
    if (st === undefined || st.payload === null) return;
    this.buffered -= st.length;
    st.payload = null;
    st.received = 0;
  }
}
