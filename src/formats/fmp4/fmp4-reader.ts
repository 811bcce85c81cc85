/**
 * A push reader for fragmented MP4 (ISO/IEC 14496-12 §8.8), as ffmpeg writes it to a pipe with
 * `-movflags frag_keyframe+empty_moov+default_base_moof`: `ftyp`, `moov` (tracks, codec configuration, `mvex`
 * defaults), then `moof` + `mdat` pairs. Feed any slice of bytes; get back the init (once per `moov`) and every
 * sample with its decode time, composition offset, sync flag and bytes. Pure: no I/O, no timers.
 *
 * Only `moov`, `moof` and `mdat` are buffered (each bounded by `maxBoxBytes`); every other top-level box
 * (`styp`, `sidx`, `free`, `mfra`, ...) is skipped as it streams past. Every field read is bounds-checked:
 * MP4_TRUNCATED when a box is shorter than its fields, MP4_BAD_BOX for sizes or values that cannot be right,
 * MP4_TOO_LARGE past a limit.
 */
import { TidecastError } from '../../errors.js';
import { badBox, Cursor, children, find, must } from './box-reader.js';
import { readMoov } from './fmp4-init.js';

export interface Fmp4Limits {
  /** largest buffered top-level box (moov, moof, mdat), bytes */
  maxBoxBytes: number;
  /** samples in one moof (all its track runs) */
  maxSamplesPerFragment: number;
  /** tracks in the moov */
  maxTracks: number;
}

export const DEFAULT_FMP4_LIMITS: Fmp4Limits = {
  maxBoxBytes: 64 * 1024 * 1024,
  maxSamplesPerFragment: 100_000,
  maxTracks: 16,
};

export type Mp4Codec = 'avc1' | 'hvc1' | 'mp4a' | 'Opus' | 'other';

export interface Mp4Track {
  /** track_ID (tkhd) */
  id: number;
  /** hdlr handler_type: `vide`, `soun`, ... */
  handler: string;
  /** mdhd timescale (ticks per second) */
  timescale: number;
  /** the sample entry's type as written: `hvc1`, `hev1`, `avc1`, `avc3`, `mp4a`, `Opus`, ... */
  sampleEntry: string;
  /** normalized codec: `hev1` is `hvc1`, `avc3` is `avc1` */
  codec: Mp4Codec;
  /**
   * Decoder configuration: the hvcC/avcC record payload (video), the AudioSpecificConfig from esds (mp4a), or an
   * OpusHead made from dOps (Opus). Undefined when the entry has none.
   */
  config?: Buffer;
  width?: number;
  height?: number;
  channels?: number;
  sampleRate?: number;
  /** trex defaults (mvex) */
  defaults: { sampleDuration: number; sampleSize: number; sampleFlags: number };
}

export interface Mp4Sample {
  trackId: number;
  /** decode time, ticks of the track timescale */
  dts: number;
  /** composition offset (pts - dts), signed ticks */
  cts: number;
  /** ticks */
  duration: number;
  /** not flagged sample_is_non_sync_sample */
  sync: boolean;
  data: Buffer;
}

export type Fmp4Event = { type: 'init'; tracks: Mp4Track[] } | { type: 'sample'; sample: Mp4Sample };

/** sample_is_non_sync_sample in sample flags (§8.8.3.1) */
const NON_SYNC = 0x00010000;

const TFHD_BASE_DATA_OFFSET = 0x000001;
const TFHD_SAMPLE_DESCRIPTION_INDEX = 0x000002;
const TFHD_DEFAULT_DURATION = 0x000008;
const TFHD_DEFAULT_SIZE = 0x000010;
const TFHD_DEFAULT_FLAGS = 0x000020;
const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;

const TRUN_DATA_OFFSET = 0x000001;
const TRUN_FIRST_SAMPLE_FLAGS = 0x000004;
const TRUN_DURATION = 0x000100;
const TRUN_SIZE = 0x000200;
const TRUN_FLAGS = 0x000400;
const TRUN_CTO = 0x000800;

const BUFFERED = new Set(['moov', 'moof', 'mdat']);

/** One sample located in the stream (absolute byte offsets), waiting for its mdat. */
interface PendingSample {
  trackId: number;
  dts: number;
  cts: number;
  duration: number;
  sync: boolean;
  offset: number;
  size: number;
}

/** moof (§8.8.4) at absolute stream offset `moofStart` -> samples with absolute data offsets. */
function readMoof(
  buf: Buffer,
  moofStart: number,
  tracks: Map<number, Mp4Track>,
  limits: Fmp4Limits,
): PendingSample[] {
  const out: PendingSample[] = [];
  let prevEnd = moofStart; // the data end of the previous track fragment (base when no flag says otherwise)
  let first = true;
  for (const traf of children(buf, 0, buf.length, 'moof')) {
    if (traf.type !== 'traf') continue;
    const kids = children(buf, traf.start, traf.end, 'traf');
    const tfhd = must(kids, 'tfhd', 'traf');
    const h = new Cursor(buf, tfhd.start, tfhd.end, 'tfhd');
    const hf = h.full().flags;
    const trackId = h.u32('track_ID');
    const track = tracks.get(trackId);
    if (!track) throw badBox(`traf: track ${trackId} is not in the moov`);
    let base = first ? moofStart : prevEnd;
    if (hf & TFHD_BASE_DATA_OFFSET) base = h.u64('base_data_offset');
    else if (hf & TFHD_DEFAULT_BASE_IS_MOOF) base = moofStart;
    if (hf & TFHD_SAMPLE_DESCRIPTION_INDEX) h.skip(4, 'sample_description_index');
    const duration0 =
      hf & TFHD_DEFAULT_DURATION ? h.u32('default_sample_duration') : track.defaults.sampleDuration;
    const size0 = hf & TFHD_DEFAULT_SIZE ? h.u32('default_sample_size') : track.defaults.sampleSize;
    const flags0 = hf & TFHD_DEFAULT_FLAGS ? h.u32('default_sample_flags') : track.defaults.sampleFlags;
    let dts = 0;
    const tfdt = find(kids, 'tfdt');
    if (tfdt) {
      const c = new Cursor(buf, tfdt.start, tfdt.end, 'tfdt');
      dts = c.full().version === 1 ? c.u64('baseMediaDecodeTime') : c.u32('baseMediaDecodeTime');
    }
    let dataAt = base;
    for (const trun of kids) {
      if (trun.type !== 'trun') continue;
      const c = new Cursor(buf, trun.start, trun.end, 'trun');
      const { version, flags } = c.full();
      const count = c.u32('sample_count');
      if (out.length + count > limits.maxSamplesPerFragment) {
        throw new TidecastError(
          'MP4_TOO_LARGE',
          `moof: more than ${limits.maxSamplesPerFragment} samples in one fragment`,
        );
      }
      if (flags & TRUN_DATA_OFFSET) dataAt = base + c.i32('data_offset');
      const firstFlags = flags & TRUN_FIRST_SAMPLE_FLAGS ? c.u32('first_sample_flags') : undefined;
      const per =
        (flags & TRUN_DURATION ? 4 : 0) +
        (flags & TRUN_SIZE ? 4 : 0) +
        (flags & TRUN_FLAGS ? 4 : 0) +
        (flags & TRUN_CTO ? 4 : 0);
      c.need(count * per, `${count} samples`);
      for (let i = 0; i < count; i++) {
        const duration = flags & TRUN_DURATION ? c.u32('sample_duration') : duration0;
        const size = flags & TRUN_SIZE ? c.u32('sample_size') : size0;
        let sf = flags & TRUN_FLAGS ? c.u32('sample_flags') : flags0;
        if (i === 0 && firstFlags !== undefined && !(flags & TRUN_FLAGS)) sf = firstFlags;
        let cts = 0;
        if (flags & TRUN_CTO) cts = version === 0 ? c.u32('sample_composition_time_offset') : c.i32('cto');
        out.push({ trackId, dts, cts, duration, sync: (sf & NON_SYNC) === 0, offset: dataAt, size });
        dts += duration;
        dataAt += size;
      }
    }
    prevEnd = dataAt;
    first = false;
  }
  return out;
}

/**
 * Push reader: `push(bytes)` returns the events those bytes completed. After an error the reader is unusable
 * (every later push throws the same error).
 */
export class Fmp4Reader {
  private readonly limits: Fmp4Limits;
  /** bytes of the current top-level box (header included) received so far */
  private chunks: Buffer[] = [];
  private have = 0;
  /** the header being gathered */
  private readonly head = Buffer.alloc(16);
  private headLen = 0;
  /** the current buffered box, once its header is complete */
  private box: { type: string; size: number; start: number; header: number } | undefined;
  /** bytes of a skipped box still to discard */
  private skipping = 0;
  /** absolute stream offset of the next byte to arrive */
  private pos = 0;
  private tracks = new Map<number, Mp4Track>();
  private pending: PendingSample[] | undefined;
  private failed: TidecastError | undefined;

  constructor(limits: Partial<Fmp4Limits> = {}) {
    this.limits = { ...DEFAULT_FMP4_LIMITS, ...limits };
  }

  /** Tracks of the last moov (empty before it). */
  get trackList(): Mp4Track[] {
    return [...this.tracks.values()];
  }

  push(bytes: Uint8Array): Fmp4Event[] {
    if (this.failed) throw this.failed;
    try {
      return this.feed(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    } catch (err) {
      this.failed =
        err instanceof TidecastError ? err : new TidecastError('MP4_BAD_BOX', (err as Error).message);
      throw this.failed;
    }
  }

  private feed(input: Buffer): Fmp4Event[] {
    const events: Fmp4Event[] = [];
    let buf = input;
    while (buf.length > 0) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, buf.length);
        this.skipping -= n;
        this.pos += n;
        buf = buf.subarray(n);
        continue;
      }
      if (!this.box) {
        // a header: 8 bytes, 16 when the size field says largesize (1)
        const need = this.headLen >= 4 && this.head.readUInt32BE(0) === 1 ? 16 : 8;
        const take = Math.min(need - this.headLen, buf.length);
        buf.copy(this.head, this.headLen, 0, take);
        this.headLen += take;
        this.pos += take;
        buf = buf.subarray(take);
        if (this.headLen < need) continue;
        if (need === 8 && this.head.readUInt32BE(0) === 1) continue; // now read the largesize
        const started = this.startBox();
        if (!started || this.have < started.size) continue;
      } else {
        const take = Math.min(this.box.size - this.have, buf.length);
        this.chunks.push(buf.subarray(0, take));
        this.have += take;
        this.pos += take;
        buf = buf.subarray(take);
        if (this.have < this.box.size) continue;
      }
      const box = this.box as NonNullable<typeof this.box>;
      const whole = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.have);
      this.box = undefined;
      this.chunks = [];
      this.have = 0;
      this.onBox(box.type, box.start, box.header, whole, events);
    }
    return events;
  }

  /** The box whose header is complete: skipped (undefined) or buffered from now on. */
  private startBox(): { size: number } | undefined {
    const head = this.head;
    const header = this.headLen;
    this.headLen = 0;
    let size = head.readUInt32BE(0);
    const type = head.toString('latin1', 4, 8);
    const start = this.pos - header;
    if (size === 1) {
      const big = head.readBigUInt64BE(8);
      size = big > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(big);
    }
    if (!/^[\x20-\x7e]{4}$/.test(type)) throw badBox(`box type ${JSON.stringify(type)} at ${start}`);
    if (size === 0) throw badBox(`${type} at ${start}: size 0 (to end of stream) is not supported on a pipe`);
    if (size < header) throw badBox(`${type} at ${start}: box size ${size} smaller than its header`);
    if (!BUFFERED.has(type)) {
      this.skipping = size - header;
      return undefined;
    }
    if (size > this.limits.maxBoxBytes) {
      throw new TidecastError(
        'MP4_TOO_LARGE',
        `${type} at ${start}: ${size} bytes (limit ${this.limits.maxBoxBytes})`,
      );
    }
    this.box = { type, size, start, header };
    this.chunks = [Buffer.from(head.subarray(0, header))];
    this.have = header;
    return this.box;
  }

  private onBox(type: string, start: number, header: number, whole: Buffer, events: Fmp4Event[]): void {
    const payload = whole.subarray(header);
    if (type === 'moov') {
      const tracks = readMoov(payload, this.limits);
      this.tracks = new Map(tracks.map((t) => [t.id, t]));
      this.pending = undefined;
      events.push({ type: 'init', tracks });
      return;
    }
    if (type === 'moof') {
      if (this.tracks.size === 0) throw badBox(`moof at ${start} before any moov`);
      this.pending = readMoof(payload, start, this.tracks, this.limits);
      return;
    }
    // mdat: hand out the pending moof's samples whose bytes lie in it
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) return;
    const dataStart = start + header;
    const dataEnd = start + whole.length;
    for (const s of pending) {
      if (s.offset < dataStart || s.offset + s.size > dataEnd) {
        throw badBox(
          `track ${s.trackId}: sample data [${s.offset}, ${s.offset + s.size}) outside mdat [${dataStart}, ${dataEnd})`,
        );
      }
      const at = s.offset - start;
      events.push({
        type: 'sample',
        sample: {
          trackId: s.trackId,
          dts: s.dts,
          cts: s.cts,
          duration: s.duration,
          sync: s.sync,
          data: whole.subarray(at, at + s.size),
        },
      });
    }
  }
}
