import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  computeSignature,
  type DigestScheme,
  digestPosition,
  FMS_KEY,
  FMS_KEY_SHORT,
  FP_KEY,
  FP_KEY_SHORT,
  findDigest,
  signPacket,
  verifySignature,
  writeDigest,
} from './handshake-digest.js';

const TAIL_HEX = 'f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae';

describe('handshake keys (brief §1.1)', () => {
  it('are the ASCII strings followed by the 32 constant bytes', () => {
    expect(FP_KEY.length).toBe(62);
    expect(FMS_KEY.length).toBe(68);
    expect(FP_KEY_SHORT.toString('latin1')).toBe('Genuine Adobe Flash Player 001');
    expect(FMS_KEY_SHORT.toString('latin1')).toBe('Genuine Adobe Flash Media Server 001');
    expect(FP_KEY.subarray(30).toString('hex')).toBe(TAIL_HEX);
    expect(FMS_KEY.subarray(36).toString('hex')).toBe(TAIL_HEX);
  });
});

describe('digestPosition', () => {
  it('scheme A sums bytes 8..11, scheme B bytes 772..775 (mod 728)', () => {
    const p = Buffer.alloc(1536);
    expect(digestPosition(p, 'A')).toBe(12);
    expect(digestPosition(p, 'B')).toBe(776);
    p.fill(0xff, 8, 12);
    p.fill(0xff, 772, 776);
    expect(digestPosition(p, 'A')).toBe(12 + (1020 % 728));
    expect(digestPosition(p, 'B')).toBe(776 + (1020 % 728));
    p[8] = 1;
    p[9] = 2;
    p[10] = 3;
    p[11] = 4;
    expect(digestPosition(p, 'A')).toBe(22);
  });

  it('always leaves the digest inside the packet and outside the other scheme’s offset bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1536, maxLength: 1536 }), (bytes) => {
        const p = Buffer.from(bytes);
        const a = digestPosition(p, 'A');
        const b = digestPosition(p, 'B');
        expect(a).toBeGreaterThanOrEqual(12);
        expect(a + 32).toBeLessThanOrEqual(772);
        expect(b).toBeGreaterThanOrEqual(776);
        expect(b + 32).toBeLessThanOrEqual(1536);
      }),
    );
  });
});

describe('writeDigest / findDigest', () => {
  for (const scheme of ['A', 'B'] as DigestScheme[]) {
    it(`round-trips under scheme ${scheme} and matches an independent HMAC`, () => {
      const p = randomBytes(1536);
      const digest = writeDigest(p, scheme, FP_KEY_SHORT);
      const pos = digestPosition(p, scheme);
      const expected = createHmac('sha256', FP_KEY_SHORT)
        .update(Buffer.concat([p.subarray(0, pos), p.subarray(pos + 32)]))
        .digest();
      expect(digest).toEqual(expected);
      expect(p.subarray(pos, pos + 32)).toEqual(expected);
      const m = findDigest(p, FP_KEY_SHORT);
      expect(m).toEqual({ scheme, pos, digest });
      // wrong key or a flipped bit outside the digest -> no match
      expect(findDigest(p, FMS_KEY_SHORT)).toBeUndefined();
      p[pos === 12 ? 1000 : 12] ^= 1;
      expect(findDigest(p, FP_KEY_SHORT)).toBeUndefined();
    });
  }

  it('honours the scheme order and rejects short packets', () => {
    const p = randomBytes(1536);
    writeDigest(p, 'A', FMS_KEY_SHORT);
    expect(findDigest(p, FMS_KEY_SHORT, ['B'])).toBeUndefined();
    expect(findDigest(p, FMS_KEY_SHORT, ['A'])?.scheme).toBe('A');
    expect(findDigest(p.subarray(0, 1000), FMS_KEY_SHORT)).toBeUndefined();
  });
});

describe('C2/S2 signature', () => {
  it('is HMAC(HMAC(fullKey, peerDigest), packet[0..1504]) in the last 32 bytes', () => {
    const peerDigest = randomBytes(32);
    const p = randomBytes(1536);
    signPacket(p, peerDigest, FMS_KEY);
    const key = createHmac('sha256', FMS_KEY).update(peerDigest).digest();
    const sig = createHmac('sha256', key).update(p.subarray(0, 1504)).digest();
    expect(p.subarray(1504)).toEqual(sig);
    expect(computeSignature(p, peerDigest, FMS_KEY)).toEqual(sig);
    expect(verifySignature(p, peerDigest, FMS_KEY)).toBe(true);
    expect(verifySignature(p, peerDigest, FP_KEY)).toBe(false);
    p[0] ^= 0x80;
    expect(verifySignature(p, peerDigest, FMS_KEY)).toBe(false);
  });
});
