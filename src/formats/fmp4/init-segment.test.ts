import { describe, expect, it } from 'vitest';
import type { AudioTrack, Track, VideoTrack } from '../../media/sample.js';
import { initSegment } from './init-segment.js';
import { type BoxInfo, children, findBox, findBoxes, fullBoxHeader, readBoxes } from './inspect.js';

const AVCC = Buffer.from('0164001fffe100046764001f01000468ee3c80', 'hex');
const ASC = Buffer.from([0x12, 0x10]); // AAC LC, 44.1 kHz, stereo

const video: VideoTrack = {
  kind: 'video',
  id: 1,
  codec: 'avc1',
  config: AVCC,
  width: 320,
  height: 240,
  codecString: 'avc1.64001f',
};
const audio: AudioTrack = {
  kind: 'audio',
  id: 2,
  codec: 'mp4a',
  config: ASC,
  sampleRate: 44100,
  channels: 2,
  codecString: 'mp4a.40.2',
};

function opusHead(): Buffer {
  const b = Buffer.alloc(19);
  b.write('OpusHead', 0, 'latin1');
  b[8] = 1;
  b[9] = 2;
  b.writeUInt32LE(48000, 12);
  return b;
}

/** stsd's single sample entry, and the boxes inside it (entry fields: 78 bytes video, 28 audio). */
function sampleEntry(buf: Buffer, trak: BoxInfo): { entry: BoxInfo; inner: BoxInfo[] } {
  const mdia = children(buf, trak).find((b) => b.type === 'mdia')!;
  const minf = children(buf, mdia).find((b) => b.type === 'minf')!;
  const stbl = children(buf, minf).find((b) => b.type === 'stbl')!;
  const stsd = children(buf, stbl)[0];
  expect(stsd.type).toBe('stsd');
  expect(stsd.payload.readUInt32BE(4)).toBe(1);
  const [entry] = readBoxes(buf, stsd.start + stsd.headerSize + 8, stsd.end);
  const skip = ['avc1', 'hvc1', 'av01'].includes(entry.type) ? 78 : 28;
  return { entry, inner: children(buf, entry, skip) };
}

describe('initSegment', () => {
  const init = initSegment([video, audio]);

  it('is ftyp + moov whose sizes tile the buffer', () => {
    expect(readBoxes(init).map((b) => b.type)).toEqual(['ftyp', 'moov']);
    expect(findBox(init, ['ftyp']).payload.toString('latin1', 0, 4)).toBe('iso6');
    expect(findBox(init, ['ftyp']).payload.includes(Buffer.from('cmfc'))).toBe(true);
    expect(children(init, findBox(init, ['moov'])).map((b) => b.type)).toEqual([
      'mvhd',
      'trak',
      'trak',
      'mvex',
    ]);
  });

  it('mvhd: next_track_ID after the largest id', () => {
    const mvhd = findBox(init, ['moov', 'mvhd']);
    expect(mvhd.payload.readUInt32BE(12)).toBe(1000);
    expect(mvhd.payload.readUInt32BE(mvhd.payload.length - 4)).toBe(3);
  });

  it('tkhd: ids, flags, video size in 16.16, audio volume', () => {
    const [v, a] = findBoxes(init, ['moov', 'trak', 'tkhd']);
    expect(fullBoxHeader(v).flags).toBe(3);
    expect(v.payload.readUInt32BE(12)).toBe(1);
    expect(a.payload.readUInt32BE(12)).toBe(2);
    expect(v.payload.readUInt32BE(76)).toBe(320 * 65536);
    expect(v.payload.readUInt32BE(80)).toBe(240 * 65536);
    expect(v.payload.readInt16BE(36)).toBe(0);
    expect(a.payload.readInt16BE(36)).toBe(0x100);
  });

  it('mdhd timescales: video 90000, audio the sample rate; hdlr types', () => {
    const ts = findBoxes(init, ['moov', 'trak', 'mdia', 'mdhd']).map((b) => b.payload.readUInt32BE(12));
    expect(ts).toEqual([90000, 44100]);
    const handlers = findBoxes(init, ['moov', 'trak', 'mdia', 'hdlr']).map((b) =>
      b.payload.toString('latin1', 8, 12),
    );
    expect(handlers).toEqual(['vide', 'soun']);
  });

  it('minf: vmhd/smhd, dinf, stbl with empty tables', () => {
    const minfs = findBoxes(init, ['moov', 'trak', 'mdia', 'minf']);
    expect(children(init, minfs[0]).map((b) => b.type)).toEqual(['vmhd', 'dinf', 'stbl']);
    expect(children(init, minfs[1]).map((b) => b.type)).toEqual(['smhd', 'dinf', 'stbl']);
    const stbl = findBoxes(init, ['moov', 'trak', 'mdia', 'minf', 'stbl'])[0];
    const tables = children(init, stbl);
    expect(tables.map((b) => b.type)).toEqual(['stsd', 'stts', 'stsc', 'stsz', 'stco']);
    for (const t of tables.slice(1)) expect(t.payload.subarray(4).every((x) => x === 0)).toBe(true);
    const dref = children(init, findBoxes(init, ['moov', 'trak', 'mdia', 'minf', 'dinf'])[0])[0];
    expect(dref.type).toBe('dref');
    expect(dref.payload.subarray(8).toString('hex')).toBe(
      `0000000c${Buffer.from('url ').toString('hex')}00000001`,
    );
  });

  it('sample entries: avc1 + avcC (record verbatim), mp4a + esds', () => {
    const [vt, at] = findBoxes(init, ['moov', 'trak']);
    const v = sampleEntry(init, vt);
    expect(v.entry.type).toBe('avc1');
    expect(v.entry.payload.readUInt16BE(6)).toBe(1); // data_reference_index
    expect(v.entry.payload.readUInt16BE(24)).toBe(320);
    expect(v.entry.payload.readUInt16BE(26)).toBe(240);
    expect(v.inner.map((b) => b.type)).toEqual(['avcC']);
    expect(v.inner[0].payload.equals(AVCC)).toBe(true);
    const a = sampleEntry(init, at);
    expect(a.entry.type).toBe('mp4a');
    expect(a.entry.payload.readUInt16BE(16)).toBe(2);
    expect(a.entry.payload.readUInt32BE(24)).toBe(44100 * 65536);
    expect(a.inner.map((b) => b.type)).toEqual(['esds']);
    expect(a.inner[0].payload.includes(Buffer.from([0x05, 0x02, 0x12, 0x10]))).toBe(true);
  });

  it('mvex: one trex per track', () => {
    const trex = findBoxes(init, ['moov', 'mvex', 'trex']);
    expect(trex.map((b) => b.payload.readUInt32BE(4))).toEqual([1, 2]);
    expect(trex.map((b) => b.payload.readUInt32BE(8))).toEqual([1, 1]);
  });

  it('hvc1 + hvcC, av01 + av1C, Opus + dOps at 48 kHz; codec brands', () => {
    const hvcc = Buffer.alloc(23);
    hvcc[0] = 1;
    const tracks: Track[] = [
      { ...video, id: 3, codec: 'hvc1', config: hvcc, codecString: 'hvc1.1.6.L93.B0' },
      {
        ...video,
        id: 4,
        codec: 'av01',
        config: Buffer.from('81000c00', 'hex'),
        codecString: 'av01.0.00M.08',
      },
      { ...audio, id: 7, codec: 'Opus', config: opusHead(), sampleRate: 44100, codecString: 'opus' },
    ];
    const seg = initSegment(tracks);
    const traks = findBoxes(seg, ['moov', 'trak']);
    const entries = traks.map((t) => sampleEntry(seg, t));
    expect(entries.map((e) => e.entry.type)).toEqual(['hvc1', 'av01', 'Opus']);
    expect(entries.map((e) => e.inner[0].type)).toEqual(['hvcC', 'av1C', 'dOps']);
    expect(entries[1].inner[0].payload.toString('hex')).toBe('81000c00');
    const ts = findBoxes(seg, ['moov', 'trak', 'mdia', 'mdhd']).map((b) => b.payload.readUInt32BE(12));
    expect(ts).toEqual([90000, 90000, 48000]);
    const brands = findBox(seg, ['ftyp']).payload.toString('latin1', 8);
    expect(brands).toContain('av01');
    expect(brands).toContain('Opus');
    expect(findBox(seg, ['moov', 'mvhd']).payload.readUInt32BE(96)).toBe(8);
  });

  it('rejects empty, duplicate or invalid track lists', () => {
    expect(() => initSegment([])).toThrow(RangeError);
    expect(() => initSegment([video, { ...audio, id: 1 }])).toThrow(/duplicate/);
    expect(() => initSegment([{ ...video, id: 0 }])).toThrow(RangeError);
    expect(() => initSegment([{ ...video, codec: 'vp09' as 'avc1' }])).toThrow(/not supported/);
  });
});
