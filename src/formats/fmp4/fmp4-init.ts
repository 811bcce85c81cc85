/**
 * The init part of fragmented MP4 (ISO/IEC 14496-12 §8.2-§8.8.3): `moov` -> tracks with their codec
 * configuration (avcC, hvcC, esds AudioSpecificConfig, dOps) and the `mvex`/`trex` fragment defaults.
 */
import { TidecastError } from '../../errors.js';
import { badBox, type Child, Cursor, children, find, must, truncated } from './box-reader.js';
import type { Fmp4Limits, Mp4Codec, Mp4Track } from './fmp4-reader.js';

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

export function readMoov(buf: Buffer, limits: Fmp4Limits): Mp4Track[] {
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
