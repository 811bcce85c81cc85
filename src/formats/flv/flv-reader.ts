/**
 * Incremental (push) FLV demuxer (FLV spec Annex E): header (§E.2), then alternating
 * PreviousTagSize / FLVTAG (§E.3, §E.4.1). Accepts input split at any byte boundary.
 */
import { TidecastError } from '../../errors.js';

export interface FlvTag {
  /** TagType (§E.4.1, lower 5 bits): 8 audio, 9 video, 18 script data. */
  type: number;
  /** Timestamp | TimestampExtended << 24, as an unsigned 32-bit ms value (RTMP time). */
  timestamp: number;
  body: Buffer;
}

export interface FlvReaderOptions {
  /** Largest accepted DataSize; larger tags throw FLV_TAG_TOO_LARGE. Default 16 MiB. */
  maxTagBytes?: number;
}

/** Largest DataOffset accepted in the header; larger values are treated as a corrupt header. */
const MAX_HEADER_SIZE = 1 << 16;

type State = 'header' | 'skip-header' | 'prev-size' | 'tag-header' | 'tag-body';

export class FlvReader {
  /** Header flags once the 9-byte header has been read. */
  header: { audio: boolean; video: boolean } | undefined;
  /** PreviousTagSize values that did not match the preceding tag (tolerated, counted). */
  prevTagSizeMismatches = 0;

  private readonly maxTagBytes: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private state: State = 'header';
  private skipRemaining = 0;
  private lastTagSize = 0;
  private pending: { type: number; timestamp: number; size: number } | undefined;

  constructor(options: FlvReaderOptions = {}) {
    this.maxTagBytes = options.maxTagBytes ?? 16 * 1024 * 1024;
  }

  /**
   * Feeds bytes; returns the tags completed by them (possibly none). Tag bodies may be views into
   * the pushed buffers, so callers must not reuse those buffers afterwards.
   */
  push(bytes: Buffer): FlvTag[] {
    if (bytes.length > 0) {
      this.chunks.push(bytes);
      this.buffered += bytes.length;
    }
    const out: FlvTag[] = [];
    for (;;) {
      if (this.state === 'header') {
        if (this.buffered < 9) break;
        const h = this.take(9);
        if (h[0] !== 0x46 || h[1] !== 0x4c || h[2] !== 0x56) {
          throw new TidecastError('FLV_BAD_HEADER', 'missing "FLV" signature');
        }
        const dataOffset = h.readUInt32BE(5);
        if (dataOffset < 9 || dataOffset > MAX_HEADER_SIZE) {
          throw new TidecastError('FLV_BAD_HEADER', `bad DataOffset ${dataOffset}`);
        }
        this.header = { audio: (h[4] & 0x04) !== 0, video: (h[4] & 0x01) !== 0 };
        this.skipRemaining = dataOffset - 9; // future header extensions (§E.2 DataOffset)
        this.state = 'skip-header';
      } else if (this.state === 'skip-header') {
        const n = Math.min(this.skipRemaining, this.buffered);
        if (n > 0) this.take(n);
        this.skipRemaining -= n;
        if (this.skipRemaining > 0) break;
        this.state = 'prev-size';
      } else if (this.state === 'prev-size') {
        if (this.buffered < 4) break;
        // PreviousTagSize (§E.3): checked loosely, a mismatch is only counted.
        if (this.take(4).readUInt32BE(0) !== this.lastTagSize) this.prevTagSizeMismatches++;
        this.state = 'tag-header';
      } else if (this.state === 'tag-header') {
        if (this.buffered < 11) break;
        const h = this.take(11);
        const size = h.readUIntBE(1, 3);
        if (size > this.maxTagBytes) {
          throw new TidecastError('FLV_TAG_TOO_LARGE', `tag DataSize ${size} exceeds ${this.maxTagBytes}`);
        }
        const timestamp = (h.readUIntBE(4, 3) | (h[7] << 24)) >>> 0;
        this.pending = { type: h[0] & 0x1f, timestamp, size };
        this.state = 'tag-body';
      } else {
        const p = this.pending!;
        if (this.buffered < p.size) break;
        out.push({ type: p.type, timestamp: p.timestamp, body: this.take(p.size) });
        this.lastTagSize = 11 + p.size;
        this.pending = undefined;
        this.state = 'prev-size';
      }
    }
    return out;
  }

  /** Declares end of input; throws FLV_TRUNCATED if a header, tag or back-pointer is incomplete. */
  end(): void {
    // A stream ending right after a tag body, without its final PreviousTagSize, is tolerated.
    if (this.buffered > 0 || this.state === 'tag-body' || this.state === 'skip-header') {
      throw new TidecastError(
        'FLV_TRUNCATED',
        `stream ended inside ${this.state} (${this.buffered} bytes pending)`,
      );
    }
  }

  /** Removes and returns the first n buffered bytes (zero-copy when they lie in one chunk). */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    const first = this.chunks[0];
    let result: Buffer;
    if (first.length >= n) {
      result = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      result = Buffer.allocUnsafe(n);
      let filled = 0;
      while (filled < n) {
        const c = this.chunks[0];
        const k = Math.min(c.length, n - filled);
        c.copy(result, filled, 0, k);
        filled += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.buffered -= n;
    return result;
  }
}
