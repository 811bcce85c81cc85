import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { type AudioTagInfo, parseAudioTagBody, parseVideoTagBody, type VideoTagInfo } from './tag-body.js';

/** Hex with optional 'fourcc' literals: h("90 'av01' 00") */
function h(spec: string): Buffer {
  const parts = spec.match(/'[^']*'|[0-9a-fA-F]{2}/g) ?? [];
  return Buffer.concat(
    parts.map((p) => (p.startsWith("'") ? Buffer.from(p.slice(1, -1), 'latin1') : Buffer.from(p, 'hex'))),
  );
}

/** AVCDecoderConfigurationRecord from libx264 (1280x720 High@3.1). */
const AVCC = '0164001fffe1001a6764001facd9405005bb0110000003001000000303c0f183196001000668ebe3cb22c0fdf8f800';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof TidecastError) return err.code;
    throw err;
  }
  return undefined;
}

function checkBounds(body: Buffer, info: VideoTagInfo | AudioTagInfo): void {
  expect(info.dataOffset).toBeGreaterThanOrEqual(0);
  expect(info.dataOffset + info.dataLength).toBeLessThanOrEqual(body.length);
  for (const t of info.tracks) {
    expect(t.dataLength).toBeGreaterThanOrEqual(0);
    expect(t.dataOffset + t.dataLength).toBeLessThanOrEqual(body.length);
  }
}

describe('robustness', () => {
  const videoFixtures = [
    `17 00 000000 ${AVCC}`,
    "97 02 0f423f 01 'avc1' 000021 aa",
    "96 21 'avc1' 00 000004 000001 dd 'av01' 01 000002 eeff",
    "96 11 'hvc1' 00 000005 000002 aabb 01 000004 000000 cc",
    "d4 'av01' 02 0009 'colorInfo' 03 000009",
  ].map(h);
  const audioFixtures = [
    'af 00 1190',
    "94 'Opus' 01 06 0000003f",
    "97 02 000100 01 'mp4a' 21",
    "95 20 'mp4a' 00 000002 1190 'Opus' 01 000000",
  ].map(h);

  it('truncation at every offset throws only FLV_BAD_TAG', () => {
    for (const f of videoFixtures) {
      for (let n = 0; n <= f.length; n++) {
        const code = codeOf(() => checkBounds(f.subarray(0, n), parseVideoTagBody(f.subarray(0, n))));
        expect([undefined, 'FLV_BAD_TAG']).toContain(code);
      }
    }
    for (const f of audioFixtures) {
      for (let n = 0; n <= f.length; n++) {
        const code = codeOf(() => checkBounds(f.subarray(0, n), parseAudioTagBody(f.subarray(0, n))));
        expect([undefined, 'FLV_BAD_TAG']).toContain(code);
      }
    }
  });

  it('fuzz: random and mutated bodies throw only FLV_BAD_TAG and stay in bounds', () => {
    const mutated = (fixtures: Buffer[]) =>
      fc
        .tuple(
          fc.constantFrom(...fixtures),
          fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 4 }),
        )
        .map(([base, edits]) => {
          const m = Buffer.from(base);
          for (const [i, v] of edits) m[i % m.length] = v;
          return m;
        });
    const random = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
    fc.assert(
      fc.property(fc.oneof(random, mutated(videoFixtures)), (body) => {
        const code = codeOf(() => checkBounds(body, parseVideoTagBody(body)));
        expect([undefined, 'FLV_BAD_TAG']).toContain(code);
      }),
      { numRuns: 5000 },
    );
    fc.assert(
      fc.property(fc.oneof(random, mutated(audioFixtures)), (body) => {
        const code = codeOf(() => checkBounds(body, parseAudioTagBody(body)));
        expect([undefined, 'FLV_BAD_TAG']).toContain(code);
      }),
      { numRuns: 5000 },
    );
  });
});
