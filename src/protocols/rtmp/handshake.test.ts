import { createHmac, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TidecastError } from '../../errors.js';
import { ClientHandshake, type HandshakeStep, ServerHandshake } from './handshake.js';

// Independent copies of the brief §1.1 formulas (deliberately not imported from handshake-digest.ts).
const TAIL = Buffer.from('f0eec24a8068bee82e00d0d1029e7e576eec5d2d29806fab93b8e636cfeb31ae', 'hex');
const FP = Buffer.concat([Buffer.from('Genuine Adobe Flash Player 001'), TAIL]);
const FMS = Buffer.concat([Buffer.from('Genuine Adobe Flash Media Server 001'), TAIL]);
const hmac = (key: Buffer, data: Buffer) => createHmac('sha256', key).update(data).digest();
const posOf = (p: Buffer, base: 8 | 772) =>
  ((p[base] + p[base + 1] + p[base + 2] + p[base + 3]) % 728) + base + 4;
/** Digest found under scheme A (base 8) or B (base 772), or undefined. */
function digestOf(p: Buffer, key: Buffer): { base: number; digest: Buffer } | undefined {
  for (const base of [8, 772] as const) {
    const pos = posOf(p, base);
    const d = hmac(key, Buffer.concat([p.subarray(0, pos), p.subarray(pos + 32)]));
    if (d.equals(p.subarray(pos, pos + 32))) return { base, digest: d };
  }
  return undefined;
}
const signatureOk = (p: Buffer, peerDigest: Buffer, fullKey: Buffer) =>
  hmac(hmac(fullKey, peerDigest), p.subarray(0, 1504)).equals(p.subarray(1504));

const cat = (steps: HandshakeStep[]) => Buffer.concat(steps.flatMap((s) => s.out));
const rests = (steps: HandshakeStep[]) => Buffer.concat(steps.flatMap((s) => (s.rest ? [s.rest] : [])));
const TRAIL_C = Buffer.from('02000000000004050000000000989680', 'hex'); // a Window Ack Size chunk
const TRAIL_S = Buffer.from('0300000000001e14000000000200', 'hex');

/** One full exchange; returns all bytes on the wire. */
function exchange(digest: boolean) {
  const client = new ClientHandshake({ digest });
  const server = new ServerHandshake();
  const c01 = client.start();
  const s012 = cat([server.push(c01)]);
  const cStep = client.push(s012);
  const c2 = cat([cStep]);
  const sStep = server.push(Buffer.concat([c2, TRAIL_C]));
  return { client, server, c01, s012, c2, cStep, sStep };
}

describe('ServerHandshake <-> ClientHandshake', () => {
  for (const digest of [true, false]) {
    const mode = digest ? 'digest' : 'simple';

    it(`${mode}: client->server stream split at every offset`, () => {
      const { c01, c2 } = exchange(digest);
      const stream = Buffer.concat([c01, c2, TRAIL_C]);
      for (let k = 0; k <= stream.length; k++) {
        const server = new ServerHandshake();
        const steps = [server.push(stream.subarray(0, k)), server.push(stream.subarray(k))];
        // S0+S1+S2 come out together, in the push that completes C1 (never waiting for C2).
        const withOut = steps.filter((s) => s.out.length > 0);
        expect(withOut.length).toBe(1);
        expect(cat(withOut).length).toBe(3073);
        expect(steps[0].out.length > 0).toBe(k >= 1537);
        expect(steps[0].done).toBe(k >= 3073);
        expect(steps[1].done).toBe(true);
        expect(rests(steps)).toEqual(TRAIL_C);
        expect(server.mode).toBe(mode);
      }
    });

    it(`${mode}: server->client stream split at every offset`, () => {
      for (let k = 0; k <= 3073 + TRAIL_S.length; k++) {
        const client = new ClientHandshake({ digest });
        const server = new ServerHandshake();
        const stream = Buffer.concat([cat([server.push(client.start())]), TRAIL_S]);
        const steps = [client.push(stream.subarray(0, k)), client.push(stream.subarray(k))];
        // C2 is emitted once S1 is complete (§5.2.1: the client MUST wait for S1 before C2).
        expect(steps[0].out.length > 0).toBe(k >= 1537);
        const c2 = cat(steps);
        expect(c2.length).toBe(1536);
        expect(steps[0].done).toBe(k >= 3073);
        expect(steps[1].done).toBe(true);
        expect(rests(steps)).toEqual(TRAIL_S);
        expect(client.warnings).toEqual([]);
        expect(client.mode).toBe(mode);
        if (k % 97 === 0 || k === 3073) {
          const end = server.push(Buffer.concat([c2, TRAIL_C]));
          expect(end.done).toBe(true);
          expect(end.rest).toEqual(TRAIL_C);
          expect(server.mode).toBe(mode);
        }
      }
    });
  }

  it('passes bytes pushed after completion straight through as rest', () => {
    const { server, client, sStep, cStep } = exchange(true);
    expect(sStep.done && cStep.done).toBe(true);
    const more = Buffer.from([1, 2, 3]);
    expect(server.push(more)).toEqual({ out: [], done: true, rest: more });
    expect(client.push(more)).toEqual({ out: [], done: true, rest: more });
  });
});

describe('simple mode', () => {
  it('S1 version is zero, S2 echoes C1 byte for byte, C2 echoes S1', () => {
    const { client, server, c01, s012, c2 } = exchange(false);
    expect(c01[0]).toBe(3);
    expect(c01.subarray(5, 9)).toEqual(Buffer.alloc(4)); // simple C1: zero version
    expect(s012[0]).toBe(3);
    expect(s012.subarray(5, 9)).toEqual(Buffer.alloc(4));
    expect(s012.subarray(1537)).toEqual(c01.subarray(1));
    expect(c2).toEqual(s012.subarray(1, 1537));
    expect(server.mode).toBe('simple');
    expect(client.mode).toBe('simple');
  });

  it('answers a non-zero C1 version without a valid digest simply (rule 2: never reject)', () => {
    const c1 = randomBytes(1536);
    c1.set([10, 0, 45, 2], 4);
    const server = new ServerHandshake({ now: () => 2 ** 32 + 7 });
    const out = cat([server.push(Buffer.concat([Buffer.from([3]), c1]))]);
    expect(server.mode).toBe('simple');
    expect(out.readUInt32BE(1)).toBe(7); // time field modulo 2^32
    expect(out.subarray(5, 9)).toEqual(Buffer.alloc(4));
    expect(out.subarray(1537)).toEqual(c1);
  });
});

describe('digest mode', () => {
  it('S1 digest, S2 signature and C2 signature verify with the brief’s formulas', () => {
    const { client, server, c01, s012, c2 } = exchange(true);
    const c1 = c01.subarray(1);
    expect([...c1.subarray(4, 8)]).toEqual([9, 0, 124, 2]); // ffmpeg's client version
    const cd = digestOf(c1, FP.subarray(0, 30));
    expect(cd?.base).toBe(8); // ffmpeg places the C1 digest by scheme A
    const s1 = s012.subarray(1, 1537);
    const s2 = s012.subarray(1537);
    expect([...s1.subarray(4, 8)]).toEqual([13, 14, 10, 13]); // nginx's server version
    const sd = digestOf(s1, FMS.subarray(0, 36));
    expect(sd?.base).toBe(8); // same scheme as the client
    expect(signatureOk(s2, cd!.digest, FMS)).toBe(true);
    expect(signatureOk(c2, sd!.digest, FP)).toBe(true);
    expect(server.mode).toBe('digest');
    expect(client.mode).toBe('digest');
    expect(client.warnings).toEqual([]);
  });

  it('answers a scheme-B C1 with a scheme-B S1', () => {
    const c1 = randomBytes(1536);
    c1.set([10, 0, 45, 2], 4);
    const pos = posOf(c1, 772);
    hmac(FP.subarray(0, 30), Buffer.concat([c1.subarray(0, pos), c1.subarray(pos + 32)])).copy(c1, pos);
    const server = new ServerHandshake();
    const out = cat([server.push(Buffer.concat([Buffer.from([3]), c1]))]);
    expect(server.mode).toBe('digest');
    const sd = digestOf(out.subarray(1, 1537), FMS.subarray(0, 36));
    expect(sd?.base).toBe(772);
    expect(signatureOk(out.subarray(1537), c1.subarray(pos, pos + 32), FMS)).toBe(true);
  });

  it('digest client against a server whose S1 version is < 3: C2 echoes S1, no checks', () => {
    const client = new ClientHandshake();
    const c1 = client.start().subarray(1);
    const s1 = randomBytes(1536);
    s1.set([2, 0, 0, 0], 4);
    const step = client.push(Buffer.concat([Buffer.from([3]), s1, c1]));
    expect(step.done).toBe(true);
    expect(cat([step])).toEqual(s1);
    expect(client.mode).toBe('simple');
    expect(client.warnings).toEqual([]);
  });

  it('only warns when the server digest or the S2 signature is wrong', () => {
    const bad = new ClientHandshake();
    bad.start();
    const s1 = randomBytes(1536);
    s1.set([13, 14, 10, 13], 4);
    const step = bad.push(Buffer.concat([Buffer.from([3]), s1, randomBytes(1536)]));
    expect(step.done).toBe(true);
    expect(cat([step])).toEqual(s1); // falls back to an S1 echo
    expect(bad.warnings.length).toBe(2); // no digest in S1, S2 does not echo C1

    const client = new ClientHandshake();
    const server = new ServerHandshake();
    const s012 = cat([server.push(client.start())]);
    s012[3073 - 1] ^= 1; // corrupt the S2 signature
    const end = client.push(s012);
    expect(end.done).toBe(true);
    expect(client.mode).toBe('digest');
    expect(client.warnings).toHaveLength(1);
    expect(client.warnings[0]).toMatch(/signature/i);
  });
});

describe('errors', () => {
  const codeOf = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      expect(err).toBeInstanceOf(TidecastError);
      return (err as TidecastError).code;
    }
    return undefined;
  };

  it('rejects a bad C0 as soon as it arrives, and stays failed', () => {
    for (const v of [0, 4, 6, 8, 9, 31, 0x47, 0x16, 255]) {
      const server = new ServerHandshake();
      expect(codeOf(() => server.push(Buffer.from([v])))).toBe('RTMP_BAD_VERSION');
      expect(codeOf(() => server.push(Buffer.from([3])))).toBe('RTMP_BAD_VERSION');
    }
    expect(() => new ServerHandshake().push(Buffer.from([6]))).toThrow(/RTMPE/);
    expect(() => new ServerHandshake().push(Buffer.from('GET / HTTP/1.1\r\n'))).toThrow(/protocol/);
  });

  it('client rejects a bad S0 and misuse', () => {
    const client = new ClientHandshake();
    expect(codeOf(() => client.push(Buffer.from([3])))).toBe('RTMP_HANDSHAKE_FAILED');
    client.start();
    expect(codeOf(() => client.start())).toBe('RTMP_HANDSHAKE_FAILED');
    expect(codeOf(() => client.push(Buffer.from([6, 0, 0])))).toBe('RTMP_BAD_VERSION');
  });

  it('arbitrary input never throws anything but TidecastError', () => {
    const chunks = fc.array(fc.uint8Array({ maxLength: 2000 }), { maxLength: 5 });
    fc.assert(
      fc.property(chunks, fc.boolean(), fc.boolean(), (parts, fixVersion, asClient) => {
        if (fixVersion && parts[0]?.length) parts[0][0] = 3;
        const hs = asClient ? new ClientHandshake() : new ServerHandshake();
        if (hs instanceof ClientHandshake) hs.start();
        try {
          for (const p of parts) {
            const step = hs.push(Buffer.from(p));
            expect(Array.isArray(step.out)).toBe(true);
          }
        } catch (err) {
          if (!(err instanceof TidecastError)) throw err;
        }
      }),
      { numRuns: 300 },
    );
  });
});
