import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { parseOpusHead } from './opus.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const head = (rest: string) => Buffer.concat([Buffer.from('OpusHead', 'latin1'), hex(rest)]);

describe('parseOpusHead', () => {
  it('parses the Veovera vector header (mono, pre-skip 312, 48 kHz)', () => {
    expect(parseOpusHead(head('0101 3801 80bb0000 0000 00'))).toEqual({
      version: 1,
      channels: 1,
      preSkip: 312,
      inputSampleRate: 48000,
      outputGain: 0,
      mappingFamily: 0,
    });
  });

  it('parses mapping family 1 (5.1) with stream counts and mapping', () => {
    const h = parseOpusHead(head('0106 3801 44ac0000 00ff 01 04 02 000405010203'));
    expect(h).toMatchObject({ channels: 6, inputSampleRate: 44100, outputGain: -256, mappingFamily: 1 });
    expect(h).toMatchObject({ streamCount: 4, coupledCount: 2, channelMapping: [0, 4, 5, 1, 2, 3] });
  });

  it('rejects bad magic, version, counts and truncation', () => {
    expect(() =>
      parseOpusHead(Buffer.concat([Buffer.from('OpusTags'), hex('0101380180bb0000000000')])),
    ).toThrow(/magic/);
    expect(() => parseOpusHead(head('1101 3801 80bb0000 0000 00'))).toThrow(/version/);
    expect(() => parseOpusHead(head('0103 3801 80bb0000 0000 00'))).toThrow(/family 0/);
    expect(() => parseOpusHead(head('0106 3801 44ac0000 0000 01 04 02 0004'))).toThrow(/truncated/);
    const full = head('0106 3801 44ac0000 00ff 01 04 02 000405010203');
    for (let n = 0; n < full.length; n++)
      expect(() => parseOpusHead(full.subarray(0, n))).toThrow(TidecastError);
  });

  it('fuzz: only CODEC_BAD_CONFIG', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (bytes) => {
        try {
          parseOpusHead(head(Buffer.from(bytes).toString('hex')));
        } catch (err) {
          expect(err).toBeInstanceOf(TidecastError);
        }
      }),
    );
  });
});
