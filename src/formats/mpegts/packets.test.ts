import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ContinuityCounters, packetize, parsePacket, pcrOnlyPacket, TS_PACKET_SIZE } from './packets.js';
import { pesHeader, readTimestamp, TS_CLOCK_WRAP } from './pes.js';

function parseAll(buf: Buffer) {
  expect(buf.length % TS_PACKET_SIZE).toBe(0);
  return Array.from({ length: buf.length / TS_PACKET_SIZE }, (_, i) => parsePacket(buf, i * TS_PACKET_SIZE));
}

describe('packetize', () => {
  it('property: 188-byte packets, one PUSI, payload intact, stuffing only in the adaptation field', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 0, max: 0x1ffe }),
        fc.record({ pcr: fc.option(fc.nat(), { nil: undefined }), randomAccess: fc.boolean() }),
        (len, pid, af) => {
          const payload = Buffer.from(Array.from({ length: len }, (_, i) => (i * 7 + 1) & 0xff));
          const cc = new ContinuityCounters();
          const pkts = parseAll(packetize(pid, payload, cc, af));
          expect(pkts.map((p) => p.pid)).toEqual(pkts.map(() => pid));
          expect(pkts.map((p) => p.payloadUnitStart)).toEqual(pkts.map((_, i) => i === 0));
          expect(pkts.map((p) => p.continuityCounter)).toEqual(pkts.map((_, i) => i & 0x0f));
          expect(pkts.every((p) => p.hasPayload)).toBe(true);
          expect(Buffer.concat(pkts.map((p) => p.payload))).toEqual(payload);
          // Only the first and the last packet may have an adaptation field.
          expect(pkts.slice(1, -1).every((p) => p.adaptationBytes === 0)).toBe(true);
          expect(pkts[0].randomAccess).toBe(af.randomAccess);
          expect(pkts[0].pcr).toBe(af.pcr === undefined ? undefined : af.pcr % TS_CLOCK_WRAP);
        },
      ),
    );
  });

  it('handles the 1-byte (length 0) and 2-byte adaptation-field stuffing cases', () => {
    const cc = new ContinuityCounters();
    const one = parseAll(packetize(0x100, Buffer.alloc(183, 1), cc));
    expect(one).toHaveLength(1);
    expect(one[0].adaptationBytes).toBe(1);
    const raw = packetize(0x100, Buffer.alloc(182, 1), cc);
    expect(raw.subarray(4, 6)).toEqual(Buffer.from([1, 0])); // length 1, no flags
    expect(parsePacket(raw).payload).toHaveLength(182);
    const full = parseAll(packetize(0x100, Buffer.alloc(184, 1), cc));
    expect(full[0].adaptationBytes).toBe(0);
    expect(cc.current(0x100)).toBe(2);
  });

  it('fills PSI with 0xFF after the section instead of adaptation stuffing', () => {
    const p = parsePacket(packetize(0, Buffer.from([0, 0xaa]), new ContinuityCounters(), {}, 'psi'));
    expect(p.adaptationBytes).toBe(0);
    expect(p.payload.subarray(0, 3)).toEqual(Buffer.from([0, 0xaa, 0xff]));
    expect(p.payload.subarray(2).every((x) => x === 0xff)).toBe(true);
  });

  it('writes PCR-only packets without advancing the continuity counter', () => {
    const cc = new ContinuityCounters();
    packetize(0x100, Buffer.alloc(10), cc);
    const p = parsePacket(pcrOnlyPacket(0x100, 2 ** 33 + 12345, cc, true));
    expect(p).toMatchObject({ pid: 0x100, hasPayload: false, continuityCounter: 0, pcr: 12345 });
    expect(p.discontinuity).toBe(true);
    expect(p.adaptationBytes).toBe(184);
    expect(cc.next(0x100)).toBe(1);
  });
});

describe('PES header', () => {
  it('property: PTS/DTS with marker bits decode back to the inputs (33-bit wrap)', () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 34 }), fc.nat({ max: 90_000 }), fc.nat(300_000), (dts, cts, len) => {
        const h = pesHeader(0xe0, len, dts + cts, dts, true);
        expect(h.subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 0xe0]));
        expect(h.readUInt16BE(4)).toBe(0);
        expect(h[6]).toBe(0x84);
        if (cts === 0) {
          expect(h[7]).toBe(0x80);
          expect(h[8]).toBe(5);
          expect(h[9] >> 4).toBe(0x2);
        } else {
          expect(h[7]).toBe(0xc0);
          expect(h[8]).toBe(10);
          expect(h[9] >> 4).toBe(0x3);
          expect(h[14] >> 4).toBe(0x1);
          expect(readTimestamp(h, 14)).toBe(dts % TS_CLOCK_WRAP);
        }
        expect(readTimestamp(h, 9)).toBe((dts + cts) % TS_CLOCK_WRAP);
      }),
    );
  });

  it('writes PES_packet_length for bounded (audio) PES', () => {
    // 1.4 s = 126000 ticks, the first PTS ffmpeg's TS muxer writes: 21 00 07 d8 61.
    const h = pesHeader(0xc0, 100, 126000, undefined, false);
    expect(h.toString('hex')).toBe('000001c0006c 8480 05 210007d861'.replace(/ /g, ''));
    expect(h.readUInt16BE(4)).toBe(3 + 5 + 100);
  });
});
