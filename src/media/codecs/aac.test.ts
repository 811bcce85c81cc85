import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { BitWriter } from '../bits/bit-writer.js';
import { aacCodecString, parseAudioSpecificConfig } from './aac.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const GA = (w: BitWriter) => w.writeBits(3, 0); // GASpecificConfig: frameLength, dependsOnCoreCoder, extension

function expectOnlyTidecastError(fn: () => unknown): void {
  try {
    fn();
  } catch (err) {
    if (!(err instanceof TidecastError)) throw err;
    expect(err.code).toBe('CODEC_BAD_CONFIG');
  }
}

describe('parseAudioSpecificConfig', () => {
  it('AAC-LC 48 kHz stereo (11 90)', () => {
    const asc = parseAudioSpecificConfig(hex('1190'));
    expect(asc).toEqual({
      objectType: 2,
      samplingIndex: 3,
      coreSampleRate: 48000,
      sampleRate: 48000,
      channels: 2,
      channelConfig: 2,
      sbr: false,
      ps: false,
    });
    expect(aacCodecString(asc)).toBe('mp4a.40.2');
    expect(parseAudioSpecificConfig(hex('1210'))).toMatchObject({
      sampleRate: 44100,
      channels: 2,
      samplingIndex: 4,
    });
  });

  it('ffmpeg LC config with an explicit "no SBR" sync extension (11 90 56 e5 00)', () => {
    expect(parseAudioSpecificConfig(hex('119056e500'))).toMatchObject({
      objectType: 2,
      sampleRate: 48000,
      sbr: false,
    });
  });

  it('HE-AAC v1 and v2 with explicit hierarchical signalling', () => {
    const he = parseAudioSpecificConfig(hex('2b118800'));
    expect(he).toMatchObject({
      objectType: 2,
      samplingIndex: 6,
      coreSampleRate: 24000,
      sampleRate: 48000,
      channels: 2,
    });
    expect(he).toMatchObject({ sbr: true, ps: false });
    expect(aacCodecString(he)).toBe('mp4a.40.5');
    const v2 = parseAudioSpecificConfig(hex('eb098800'));
    expect(v2).toMatchObject({
      objectType: 2,
      channelConfig: 1,
      channels: 2,
      sampleRate: 48000,
      sbr: true,
      ps: true,
    });
    expect(aacCodecString(v2)).toBe('mp4a.40.29');
  });

  it('HE-AAC with backward-compatible (implicit) SBR + PS signalling', () => {
    const w = GA(new BitWriter().writeBits(5, 2).writeBits(4, 6).writeBits(4, 1));
    w.writeBits(11, 0x2b7).writeBits(5, 5).writeBit(1).writeBits(4, 3); // SBR at 48 kHz
    w.writeBits(11, 0x548).writeBit(1); // PS
    expect(parseAudioSpecificConfig(w.toBuffer())).toMatchObject({
      objectType: 2,
      coreSampleRate: 24000,
      sampleRate: 48000,
      channels: 2,
      sbr: true,
      ps: true,
    });
  });

  it('explicit sampling frequency (index 15) and escaped object type (31)', () => {
    const w = GA(new BitWriter().writeBits(5, 2).writeBits(4, 15).writeBits(24, 37800).writeBits(4, 1));
    expect(parseAudioSpecificConfig(w.toBuffer())).toMatchObject({
      samplingIndex: 15,
      sampleRate: 37800,
      channels: 1,
    });
    // AOT 42 (USAC) = 31 + 6-bit 10; no GASpecificConfig follows.
    const usac = new BitWriter()
      .writeBits(5, 31)
      .writeBits(6, 10)
      .writeBits(4, 3)
      .writeBits(4, 2)
      .writeBits(8, 0);
    const cfg = parseAudioSpecificConfig(usac.toBuffer());
    expect(cfg).toMatchObject({ objectType: 42, sampleRate: 48000, channels: 2 });
    expect(aacCodecString(cfg)).toBe('mp4a.40.42');
  });

  it('channel configuration 0 counts the program_config_element channels (5.1)', () => {
    const w = GA(new BitWriter().writeBits(5, 2).writeBits(4, 3).writeBits(4, 0));
    w.writeBits(4, 0).writeBits(2, 1).writeBits(4, 3); // tag, object type, sampling index
    w.writeBits(4, 2).writeBits(4, 0).writeBits(4, 1).writeBits(2, 1).writeBits(3, 0).writeBits(4, 0);
    w.writeBit(0).writeBit(0).writeBit(0); // no mixdowns
    w.writeBit(0).writeBits(4, 0).writeBit(1).writeBits(4, 0); // front: SCE + CPE
    w.writeBit(1).writeBits(4, 1); // back: CPE
    w.writeBits(4, 0); // LFE
    const pre = w.bitLength % 8;
    if (pre) w.writeBits(8 - pre, 0); // byte_alignment
    w.writeBits(8, 2).writeBits(16, 0x4142); // comment "AB"
    expect(parseAudioSpecificConfig(w.toBuffer())).toMatchObject({ channelConfig: 0, channels: 6 });
    expect(parseAudioSpecificConfig(hex('11b8'))).toMatchObject({ channelConfig: 7, channels: 8 });
  });

  it('rejects reserved values and short input', () => {
    expect(() => parseAudioSpecificConfig(hex('12'))).toThrow(TidecastError);
    expect(() => parseAudioSpecificConfig(hex('0190'))).toThrow(/object/);
    expect(() => parseAudioSpecificConfig(hex('1690'))).toThrow(/samplingFrequencyIndex 13/);
    expect(() => parseAudioSpecificConfig(hex('11c0'))).toThrow(/channelConfiguration 8/);
  });

  it('truncation and fuzzing throw only CODEC_BAD_CONFIG', () => {
    for (const f of [hex('2b118800'), hex('eb098800'), hex('119056e500')]) {
      for (let n = 0; n <= f.length; n++)
        expectOnlyTidecastError(() => parseAudioSpecificConfig(f.subarray(0, n)));
    }
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 32 }), (bytes) => {
        expectOnlyTidecastError(() => parseAudioSpecificConfig(Buffer.from(bytes)));
      }),
      { numRuns: 5000 },
    );
  });
});
