import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { BitReader, removeEmulationPrevention } from './bit-reader.js';
import { BitWriter } from './bit-writer.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

function expectCode(fn: () => unknown, code: string): void {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TidecastError);
    expect((err as TidecastError).code).toBe(code);
    return;
  }
  throw new Error('expected a throw');
}

describe('BitReader', () => {
  it('reads fields across byte boundaries', () => {
    const r = new BitReader(hex('a5 ff 00 81'));
    expect(r.readBits(3)).toBe(0b101);
    expect(r.readBits(7)).toBe(0b0010111);
    expect(r.readBit()).toBe(1);
    expect(r.bitsLeft()).toBe(21);
    r.skipBits(13);
    expect(r.readBits(8)).toBe(0x81);
    expect(r.bitsLeft()).toBe(0);
  });

  it('reads 32-bit values unsigned', () => {
    const r = new BitReader(hex('ff ff ff ff 80 00 00 00'));
    expect(r.readBits(32)).toBe(0xffffffff);
    expect(r.readBits(32)).toBe(0x80000000);
  });

  it('decodes Exp-Golomb codes (H.264 §9.1 table 9-2)', () => {
    // 1 | 010 | 011 | 00100 | 00111 | 0001000 -> 0, 1, 2, 3, 6, 7
    const w = new BitWriter().writeBits(1, 1).writeBits(3, 2).writeBits(3, 3).writeBits(5, 4);
    w.writeBits(5, 7).writeBits(7, 8);
    const r = new BitReader(w.toBuffer());
    expect([r.readUE(), r.readUE(), r.readUE(), r.readUE(), r.readUE(), r.readUE()]).toEqual([
      0, 1, 2, 3, 6, 7,
    ]);
    const s = new BitReader(new BitWriter().writeUE(1).writeUE(2).writeUE(3).writeUE(4).toBuffer());
    expect([s.readSE(), s.readSE(), s.readSE(), s.readSE()]).toEqual([1, -1, 2, -2]);
  });

  it('throws CODEC_BAD_CONFIG on overrun and bad widths', () => {
    const r = new BitReader(hex('ff'));
    r.readBits(6);
    expectCode(() => r.readBits(3), 'CODEC_BAD_CONFIG');
    expectCode(() => r.skipBits(3), 'CODEC_BAD_CONFIG');
    expectCode(() => new BitReader(hex('00 00 00 00 01')).readUE(), 'CODEC_BAD_CONFIG');
    expectCode(() => new BitReader(hex('00')).readUE(), 'CODEC_BAD_CONFIG');
    expectCode(() => new BitReader(hex('ff')).readBits(33), 'CODEC_BAD_CONFIG');
    expectCode(() => new BitReader(hex('ff'), 2), 'CODEC_BAD_CONFIG');
  });

  it('round-trips fixed fields and Exp-Golomb codes written by BitWriter', () => {
    const field = fc.oneof(
      fc.integer({ min: 0, max: 32 }).chain((n) =>
        fc.record({
          kind: fc.constant('bits' as const),
          n: fc.constant(n),
          v: fc.integer({ min: 0, max: 2 ** n - 1 }),
        }),
      ),
      fc.record({
        kind: fc.constant('ue' as const),
        n: fc.constant(0),
        v: fc.integer({ min: 0, max: 2 ** 32 - 2 }),
      }),
      fc.record({
        kind: fc.constant('se' as const),
        n: fc.constant(0),
        v: fc.integer({ min: -(2 ** 30), max: 2 ** 30 }),
      }),
    );
    fc.assert(
      fc.property(fc.array(field, { maxLength: 40 }), (fields) => {
        const w = new BitWriter();
        for (const f of fields) {
          if (f.kind === 'bits') w.writeBits(f.n, f.v);
          else if (f.kind === 'ue') w.writeUE(f.v);
          else w.writeSE(f.v);
        }
        const r = new BitReader(w.toBuffer());
        for (const f of fields) {
          const got = f.kind === 'bits' ? r.readBits(f.n) : f.kind === 'ue' ? r.readUE() : r.readSE();
          expect(got).toBe(f.v);
        }
        expect(r.bitsLeft()).toBeLessThan(8);
      }),
    );
  });

  it('fuzz: random reads on random bytes throw only TidecastError', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 16 }),
        fc.array(fc.integer({ min: 0, max: 40 })),
        (bytes, ops) => {
          const r = new BitReader(Buffer.from(bytes));
          try {
            for (const op of ops) {
              if (op <= 32) r.readBits(op);
              else if (op === 33) r.readUE();
              else if (op === 34) r.readSE();
              else r.skipBits(op);
            }
          } catch (err) {
            expect(err).toBeInstanceOf(TidecastError);
          }
        },
      ),
    );
  });
});

/** Inserts emulation-prevention bytes the way an encoder does (H.264 §7.4.1). */
function addEmulationPrevention(rbsp: Buffer): Buffer {
  const out: number[] = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros >= 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Buffer.from(out);
}

describe('removeEmulationPrevention', () => {
  it('drops 0x03 after two zero bytes only', () => {
    expect(removeEmulationPrevention(hex('00 00 03 01 00 00 03 00 00 03'))).toEqual(
      hex('00 00 01 00 00 00 00'),
    );
    expect(removeEmulationPrevention(hex('00 03 00 00 03 03'))).toEqual(hex('00 03 00 00 03'));
    expect(removeEmulationPrevention(hex('00 00 00 03 00'))).toEqual(hex('00 00 00 00'));
    const plain = hex('67 64 00 1f ac');
    expect(removeEmulationPrevention(plain)).toBe(plain);
  });

  it('inverts emulation-prevention insertion (property)', () => {
    const biased = fc
      .uint8Array({ maxLength: 64 })
      .map((a) => Buffer.from(a.map((b) => (b < 128 ? 0 : b & 3))));
    fc.assert(
      fc.property(
        fc.oneof(
          biased,
          fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)),
        ),
        (rbsp) => {
          expect(removeEmulationPrevention(addEmulationPrevention(rbsp))).toEqual(rbsp);
        },
      ),
    );
  });
});
