import { describe, expect, it } from 'vitest';
import { readBoxes } from '../inspect.js';
import { descriptor, dOps, esds, OPUS_SAMPLE_RATE, opus } from './audio-entry.js';
import { box, boxHeader, fixed16_16, fourcc, fullBox, u64, unityMatrix } from './box.js';
import { ftyp, styp } from './ftyp.js';
import { hvcCForHvc1 } from './video-entry.js';

function opusHead(channels = 2, preSkip = 312, family = 0): Buffer {
  const b = Buffer.alloc(family === 0 ? 19 : 21 + channels);
  b.write('OpusHead', 0, 'latin1');
  b[8] = 1;
  b[9] = channels;
  b.writeUInt16LE(preSkip, 10);
  b.writeUInt32LE(48000, 12);
  b.writeInt16LE(-256, 16);
  b[18] = family;
  if (family !== 0) {
    b[19] = channels - 1; // streams
    b[20] = 1; // coupled
    for (let i = 0; i < channels; i++) b[21 + i] = i;
  }
  return b;
}

describe('box builder (ISO/IEC 14496-12 §4.2)', () => {
  it('box = 32-bit size + type + payload', () => {
    const b = box('free', Buffer.from([1, 2, 3]));
    expect(b.toString('hex')).toBe('0000000b66726565010203');
  });

  it('fullBox adds version and 24-bit flags', () => {
    const b = fullBox('tfdt', 1, 0x020001, Buffer.from([9]));
    expect(b.toString('hex')).toBe(`0000000d${Buffer.from('tfdt').toString('hex')}0102000109`);
  });

  it('switches to largesize above 4 GiB', () => {
    const h = boxHeader('mdat', 2 ** 32);
    expect(h.length).toBe(16);
    expect(h.readUInt32BE(0)).toBe(1);
    expect(h.toString('latin1', 4, 8)).toBe('mdat');
    expect(Number(h.readBigUInt64BE(8))).toBe(2 ** 32 + 16);
  });

  it('rejects bad codes and values', () => {
    expect(() => fourcc('abc')).toThrow(RangeError);
    expect(() => u64(-1)).toThrow(RangeError);
    expect(() => u64(2 ** 53)).toThrow(RangeError);
    expect(() => fullBox('abcd', 256, 0)).toThrow(RangeError);
    expect(u64(2 ** 40 + 5).toString('hex')).toBe('0000010000000005');
  });

  it('fixed point and matrix', () => {
    expect(fixed16_16(320).readUInt32BE(0)).toBe(320 << 16);
    const m = unityMatrix();
    expect([m.readUInt32BE(0), m.readUInt32BE(16), m.readUInt32BE(32)]).toEqual([
      0x10000, 0x10000, 0x40000000,
    ]);
  });
});

describe('ftyp / styp', () => {
  it('ftyp: iso6 major, cmfc compatible, codec brands appended once', () => {
    const b = ftyp(['av01', 'Opus', 'iso6']);
    const [f] = readBoxes(b);
    expect(f.type).toBe('ftyp');
    expect(f.payload.toString('latin1', 0, 4)).toBe('iso6');
    expect(f.payload.readUInt32BE(4)).toBe(0);
    const brands = f.payload.toString('latin1', 8).match(/.{4}/g);
    expect(brands).toEqual(['iso6', 'cmfc', 'isom', 'mp41', 'dash', 'av01', 'Opus']);
  });

  it('styp: msdh', () => {
    const [s] = readBoxes(styp());
    expect(s.type).toBe('styp');
    expect(s.payload.toString('latin1')).toBe('msdh\0\0\0\0msdh');
  });
});

describe('esds (ISO/IEC 14496-14 §5.6, 14496-1 §7.2.6)', () => {
  it('descriptor sizes use the expandable encoding', () => {
    expect(descriptor(5, Buffer.alloc(3)).subarray(0, 2).toString('hex')).toBe('0503');
    const big = descriptor(5, Buffer.alloc(200));
    expect(big.subarray(0, 3).toString('hex')).toBe('058148'); // 200 = 1*128 + 72
    expect(big.length).toBe(203);
  });

  it('carries the AudioSpecificConfig in DecoderSpecificInfo', () => {
    const asc = Buffer.from([0x12, 0x10]);
    const [e] = readBoxes(esds(asc));
    expect(e.type).toBe('esds');
    const p = e.payload;
    expect(p.readUInt32BE(0)).toBe(0); // version/flags
    expect(p[4]).toBe(0x03); // ES_DescrTag
    expect(p[5]).toBe(p.length - 6);
    expect(p[9]).toBe(0x04); // DecoderConfigDescrTag
    expect(p[11]).toBe(0x40); // MPEG-4 audio
    expect(p[12]).toBe(0x15); // AudioStream, upStream 0, reserved 1
    const dsi = p.indexOf(Buffer.from([0x05, 0x02, 0x12, 0x10]));
    expect(dsi).toBeGreaterThan(0);
    expect(p.subarray(p.length - 3).toString('hex')).toBe('060102'); // SLConfig predefined 2
  });
});

describe('dOps (Opus-in-ISOBMFF §4.3.2)', () => {
  it('re-encodes OpusHead big-endian without magic (mapping family 0)', () => {
    const [d] = readBoxes(dOps(opusHead(2, 312)));
    expect(d.type).toBe('dOps');
    // Version 0, 2 channels, PreSkip 312, InputSampleRate 48000, OutputGain -256, family 0
    expect(d.payload.toString('hex')).toBe('00020138' + '0000bb80' + 'ff00' + '00');
  });

  it('appends the channel mapping table for family 1', () => {
    const [d] = readBoxes(dOps(opusHead(6, 0, 1)));
    expect(d.payload.length).toBe(11 + 2 + 6);
    expect(d.payload[10]).toBe(1); // ChannelMappingFamily
    expect([...d.payload.subarray(11)]).toEqual([5, 1, 0, 1, 2, 3, 4, 5]);
  });

  it('Opus sample entry: 48 kHz, channel count from the head', () => {
    const [e] = readBoxes(opus(opusHead(1)));
    expect(e.type).toBe('Opus');
    expect(e.payload.readUInt16BE(16)).toBe(1); // channelcount
    expect(e.payload.readUInt16BE(18)).toBe(16); // samplesize
    expect(e.payload.readUInt32BE(24)).toBe(OPUS_SAMPLE_RATE * 0x10000);
    expect(readBoxes(e.payload, 28).map((b) => b.type)).toEqual(['dOps']);
  });
});

describe('hvcC for hvc1 (14496-15 §8.4.1.1.2)', () => {
  it('sets array_completeness on parameter-set arrays only, without touching the input', () => {
    const head = Buffer.alloc(23);
    head[0] = 1;
    head[21] = 0xf3;
    head[22] = 4;
    const arr = (type: number, nals: number[][]) =>
      Buffer.concat([
        Buffer.from([type, 0, nals.length]),
        ...nals.map((n) => Buffer.concat([Buffer.from([0, n.length]), Buffer.from(n)])),
      ]);
    const rec = Buffer.concat([
      head,
      arr(32, [[0x40, 0x01, 0xaa]]),
      arr(33, [
        [0x42, 0x01],
        [0x42, 0x01, 0xbb],
      ]),
      arr(34, [[0x44, 0x01]]),
      arr(39, [[0x4e, 0x01, 0x05]]), // SEI array stays as is
    ]);
    const out = hvcCForHvc1(rec);
    expect(rec[23]).toBe(32);
    expect(out[23]).toBe(0x80 | 32);
    expect(out[23 + 3 + 5]).toBe(0x80 | 33);
    expect(out[23 + 8 + 3 + 4 + 5]).toBe(0x80 | 34);
    expect(out[23 + 8 + 12 + 7]).toBe(39);
    expect(out.length).toBe(rec.length);
  });

  it('leaves a short or truncated record alone', () => {
    expect(hvcCForHvc1(Buffer.from([1, 2, 3])).toString('hex')).toBe('010203');
    const truncated = Buffer.concat([Buffer.alloc(22), Buffer.from([3, 33, 0, 5])]);
    expect(hvcCForHvc1(truncated)[23]).toBe(0x80 | 33);
  });
});
