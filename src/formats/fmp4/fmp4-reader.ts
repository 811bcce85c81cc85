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

function truncated(what: string): TidecastError {
  return new TidecastError('MP4_TRUNCATED', what);
}

function badBox(what: string): TidecastError {
  return new TidecastError('MP4_BAD_BOX', what);
}

/** A bounds-checked cursor over one box's payload. */
class Cursor {
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

interface Child {
  type: string;
  /** payload start and end (absolute, in the parent's buffer) */
  start: number;
  end: number;
}

/** The boxes laid end to end in buf[start, end), each checked to fit. */
function children(buf: Buffer, start: number, end: number, parent: string): Child[] {
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

function find(list: Child[], type: string): Child | undefined {
  return list.find((c) => c.type === type);
}

function must(list: Child[], type: string, parent: string): Child {
  const c = find(list, type);
  if (!c) throw badBox(`${parent}: no ${type}`);
  return c;
}

/** ES descriptor length: up to 4 bytes of 7 bits (ISO/IEC 14496-1 §8.3.3). */
function descriptorLength(c: Cursor): number {
  let len = 0;
  for (let i = 0; i < 4; i++) {
    const b = c.u8('descriptor length');
    len = (len << 7) | (b & 0x7f);
    if ((b & 0x80) === 0) return len;
  }
  return len;
}

/** esds (ISO/IEC 14496-14 §3.1.2): ES_Descriptor -> DecoderConfigDescriptor -> DecoderSpecificInfo. */
function readEsds(buf: Buffer, box: Child): Buffer | undefined {
  const c = new Cursor(buf, box.start, box.end, 'esds');
  c.full();
  if (c.u8('ES_Descriptor tag') !== 0x03) throw badBox('esds: no ES_Descriptor');
  const esLen = descriptorLength(c);
  c.need(esLen, 'ES_Descriptor');
  const esEnd = c.off + esLen;
  const d = new Cursor(buf, c.off, esEnd, 'esds');
  d.skip(2, 'ES_ID');
  const flags = d.u8('ES flags');
  if (flags & 0x80) d.skip(2, 'dependsOn_ES_ID');
  if (flags & 0x40) d.skip(d.u8('URL length'), 'URL');
  if (flags & 0x20) d.skip(2, 'OCR_ES_ID');
  while (d.off < d.end) {
    const tag = d.u8('descriptor tag');
    const len = descriptorLength(d);
    d.need(len, `descriptor ${tag}`);
    if (tag !== 0x04) {
      d.skip(len, `descriptor ${tag}`);
      continue;
    }
    // DecoderConfigDescriptor: objectTypeIndication, streamType, bufferSizeDB(3), maxBitrate, avgBitrate
    const dc = new Cursor(buf, d.off, d.off + len, 'esds');
    dc.skip(13, 'DecoderConfigDescriptor');
    while (dc.off < dc.end) {
      const t = dc.u8('descriptor tag');
      const l = descriptorLength(dc);
      if (t === 0x05) return Buffer.from(dc.bytes(l, 'DecoderSpecificInfo'));
      dc.skip(l, `descriptor ${t}`);
    }
    return undefined;
  }
  return undefined;
}

/** dOps (Opus in ISOBMFF §4.3.2, big-endian) -> the OpusHead ID header (RFC 7845 §5.1, little-endian). */
function dOpsToOpusHead(buf: Buffer, box: Child): Buffer {
  const c = new Cursor(buf, box.start, box.end, 'dOps');
  const version = c.u8('Version');
  if (version !== 0) throw badBox(`dOps: version ${version}`);
  const channels = c.u8('OutputChannelCount');
  const preSkip = c.u16('PreSkip');
  const rate = c.u32('InputSampleRate');
  const gain = c.u16('OutputGain');
  const family = c.u8('ChannelMappingFamily');
  const mapping = family !== 0 ? c.bytes(2 + channels, 'ChannelMappingTable') : Buffer.alloc(0);
  const head = Buffer.alloc(19 + mapping.length);
  head.write('OpusHead', 0, 'latin1');
  head[8] = 1;
  head[9] = channels;
  head.writeUInt16LE(preSkip, 10);
  head.writeUInt32LE(rate, 12);
  head.writeUInt16LE(gain, 16);
  head[18] = family;
  mapping.copy(head, 19);
  return head;
}

const VIDEO_ENTRIES: Record<string, Mp4Codec> = { hvc1: 'hvc1', hev1: 'hvc1', avc1: 'avc1', avc3: 'avc1' };
const AUDIO_ENTRIES: Record<string, Mp4Codec> = { mp4a: 'mp4a', Opus: 'Opus' };

/** The first sample entry of an stsd (§8.5.2): codec, configuration, size or channels/rate. */
function readSampleEntry(buf: Buffer, stsd: Child, track: Mp4Track): void {
  const c = new Cursor(buf, stsd.start, stsd.end, 'stsd');
  c.full();
  const count = c.u32('entry_count');
  if (count === 0) throw badBox('stsd: no sample entry');
  const [entry] = children(buf, c.off, stsd.end, 'stsd');
  if (!entry) throw truncated('stsd: missing sample entry');
  track.sampleEntry = entry.type;
  const e = new Cursor(buf, entry.start, entry.end, entry.type);
  e.skip(8, 'SampleEntry header'); // reserved(6) + data_reference_index(2)
  const video = VIDEO_ENTRIES[entry.type];
  if (video) {
    track.codec = video;
    e.skip(16, 'VisualSampleEntry');
    track.width = e.u16('width');
    track.height = e.u16('height');
    e.skip(50, 'VisualSampleEntry');
    const kids = children(buf, e.off, entry.end, entry.type);
    const cfg = find(kids, video === 'hvc1' ? 'hvcC' : 'avcC');
    if (cfg) track.config = Buffer.from(buf.subarray(cfg.start, cfg.end));
    return;
  }
  const audio = AUDIO_ENTRIES[entry.type];
  if (audio) {
    track.codec = audio;
    const soundVersion = e.u16('sound version');
    e.skip(6, 'AudioSampleEntry');
    track.channels = e.u16('channelcount');
    e.skip(6, 'AudioSampleEntry');
    track.sampleRate = e.u32('samplerate') >>> 16;
    // QuickTime sound description v1 (+16 bytes) / v2 (+36 bytes)
    if (soundVersion === 1) e.skip(16, 'sound description v1');
    else if (soundVersion === 2) e.skip(36, 'sound description v2');
    const kids = children(buf, e.off, entry.end, entry.type);
    if (audio === 'mp4a') {
      const esds = find(kids, 'esds');
      if (esds) track.config = readEsds(buf, esds);
    } else {
      const dops = find(kids, 'dOps');
      if (dops) track.config = dOpsToOpusHead(buf, dops);
    }
    return;
  }
  track.codec = 'other';
}

function readTrak(buf: Buffer, trak: Child): Mp4Track {
  const kids = children(buf, trak.start, trak.end, 'trak');
  const tkhd = must(kids, 'tkhd', 'trak');
  const th = new Cursor(buf, tkhd.start, tkhd.end, 'tkhd');
  const { version } = th.full();
  th.skip(version === 1 ? 16 : 8, 'times');
  const id = th.u32('track_ID');
  if (id === 0) throw badBox('tkhd: track_ID 0');
  const mdia = must(kids, 'mdia', 'trak');
  const mk = children(buf, mdia.start, mdia.end, 'mdia');
  const mdhd = must(mk, 'mdhd', 'mdia');
  const mh = new Cursor(buf, mdhd.start, mdhd.end, 'mdhd');
  const mv = mh.full().version;
  mh.skip(mv === 1 ? 16 : 8, 'times');
  const timescale = mh.u32('timescale');
  if (timescale === 0) throw badBox(`track ${id}: timescale 0`);
  const hdlr = must(mk, 'hdlr', 'mdia');
  const hc = new Cursor(buf, hdlr.start, hdlr.end, 'hdlr');
  hc.full();
  hc.skip(4, 'pre_defined');
  const handler = hc.bytes(4, 'handler_type').toString('latin1');
  const track: Mp4Track = {
    id,
    handler,
    timescale,
    sampleEntry: '',
    codec: 'other',
    defaults: { sampleDuration: 0, sampleSize: 0, sampleFlags: 0 },
  };
  const minf = find(mk, 'minf');
  const stbl = minf && find(children(buf, minf.start, minf.end, 'minf'), 'stbl');
  const stsd = stbl && find(children(buf, stbl.start, stbl.end, 'stbl'), 'stsd');
  if (stsd) readSampleEntry(buf, stsd, track);
  return track;
}

function readMoov(buf: Buffer, limits: Fmp4Limits): Mp4Track[] {
  const kids = children(buf, 0, buf.length, 'moov');
  const traks = kids.filter((k) => k.type === 'trak');
  if (traks.length > limits.maxTracks) {
    throw new TidecastError('MP4_TOO_LARGE', `moov: ${traks.length} tracks (limit ${limits.maxTracks})`);
  }
  const tracks = traks.map((t) => readTrak(buf, t));
  const ids = new Set(tracks.map((t) => t.id));
  if (ids.size !== tracks.length) throw badBox('moov: duplicate track_ID');
  const mvex = find(kids, 'mvex');
  for (const trex of mvex ? children(buf, mvex.start, mvex.end, 'mvex') : []) {
    if (trex.type !== 'trex') continue;
    const c = new Cursor(buf, trex.start, trex.end, 'trex');
    c.full();
    const id = c.u32('track_ID');
    c.skip(4, 'default_sample_description_index');
    const t = tracks.find((x) => x.id === id);
    const defaults = {
      sampleDuration: c.u32('default_sample_duration'),
      sampleSize: c.u32('default_sample_size'),
      sampleFlags: c.u32('default_sample_flags'),
    };
    if (t) t.defaults = defaults;
  }
  return tracks;
}

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
