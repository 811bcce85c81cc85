import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { signPath, signUrl, type VerifyOptions, verifySignedRequest } from './signed-url.js';

const SECRET = 'current-secret-0123456789';
const OLD = 'previous-secret-0123456789';
const NOW = 1_700_000_000_000;
const EXP = NOW / 1000 + 60;

function verify(over: Partial<VerifyOptions> = {}) {
  return verifySignedRequest({
    secrets: [SECRET],
    path: '/live/cam1',
    expires: String(EXP),
    token: signPath({ secret: SECRET, path: '/live/cam1', expires: EXP }),
    bindIp: false,
    now: NOW,
    ...over,
  });
}

describe('signPath', () => {
  it('is a 43-char base64url HMAC, stable for the same input', () => {
    const t = signPath({ secret: SECRET, path: '/live/cam1', expires: EXP });
    expect(t).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(signPath({ secret: SECRET, path: '/live/cam1', expires: EXP })).toBe(t);
    expect(signPath({ secret: OLD, path: '/live/cam1', expires: EXP })).not.toBe(t);
  });

  it('normalises the bound IP', () => {
    expect(signPath({ secret: SECRET, path: '/a/b', expires: EXP, ip: '::ffff:10.0.0.1' })).toBe(
      signPath({ secret: SECRET, path: '/a/b', expires: EXP, ip: '10.0.0.1' }),
    );
  });

  it('rejects bad input', () => {
    expect(() => signPath({ secret: '', path: '/a/b', expires: EXP })).toThrow(/secret/);
    expect(() => signPath({ secret: SECRET, path: 'a/b', expires: EXP })).toThrow(/path/);
    expect(() => signPath({ secret: SECRET, path: '/a/b?x=1', expires: EXP })).toThrow(/path/);
    expect(() => signPath({ secret: SECRET, path: '/a/b\n1', expires: EXP })).toThrow(/path/);
    expect(() => signPath({ secret: SECRET, path: '/a/b', expires: 1.5 })).toThrow(/expires/);
    expect(() => signPath({ secret: SECRET, path: '/a/b', expires: -1 })).toThrow(/expires/);
    expect(() => signPath({ secret: SECRET, path: '/a/b', expires: EXP, ip: 'nope' })).toThrow(/IP/);
  });
});

describe('signUrl', () => {
  it('appends expires and token with ? or &', () => {
    const token = signPath({ secret: SECRET, path: '/live/cam1', expires: EXP });
    expect(signUrl({ secret: SECRET, path: '/live/cam1', expires: EXP })).toBe(
      `/live/cam1?expires=${EXP}&token=${token}`,
    );
    expect(signUrl({ secret: SECRET, path: '/live/cam1?a=1', expires: EXP })).toBe(
      `/live/cam1?a=1&expires=${EXP}&token=${token}`,
    );
    expect(signUrl({ secret: SECRET, path: '/live/cam1?', expires: EXP })).toBe(
      `/live/cam1?expires=${EXP}&token=${token}`,
    );
  });

  it('signs `resource` instead of the URL path when given', () => {
    const token = signPath({ secret: SECRET, path: '/live/cam1', expires: EXP });
    expect(signUrl({ secret: SECRET, path: '/live/cam1.flv', resource: '/live/cam1', expires: EXP })).toBe(
      `/live/cam1.flv?expires=${EXP}&token=${token}`,
    );
  });

  it('refuses URLs that already carry expires/token or a fragment', () => {
    expect(() => signUrl({ secret: SECRET, path: '/a/b?token=x', expires: EXP })).toThrow(/already/);
    expect(() => signUrl({ secret: SECRET, path: '/a/b#x', expires: EXP })).toThrow(/fragment/);
  });

  it('round-trips through URL parsing', () => {
    const u = new URL(signUrl({ secret: SECRET, path: '/live/cam1?x=y', expires: EXP }), 'http://h');
    const r = verify({
      path: u.pathname,
      expires: u.searchParams.get('expires') ?? undefined,
      token: u.searchParams.get('token') ?? undefined,
    });
    expect(r).toEqual({ ok: true });
  });
});

describe('verifySignedRequest', () => {
  it('accepts a valid token before expiry', () => {
    expect(verify()).toEqual({ ok: true });
    expect(verify({ now: EXP * 1000 - 1 })).toEqual({ ok: true });
  });

  it('rejects at and after expiry', () => {
    expect(verify({ now: EXP * 1000 })).toEqual({ ok: false, reason: 'expired' });
    expect(verify({ now: EXP * 1000 + 3_600_000 })).toEqual({ ok: false, reason: 'expired' });
  });

  it('reports missing parameters', () => {
    expect(verify({ token: undefined })).toEqual({ ok: false, reason: 'missing' });
    expect(verify({ expires: undefined })).toEqual({ ok: false, reason: 'missing' });
    expect(verify({ expires: '' })).toEqual({ ok: false, reason: 'missing' });
  });

  it('parses strictly', () => {
    for (const expires of [
      '1e10',
      ' 1700000060',
      '+1700000060',
      '01700000060',
      '0x10',
      '1.5',
      '9'.repeat(13),
    ]) {
      expect(verify({ expires })).toEqual({ ok: false, reason: 'malformed' });
    }
    for (const token of ['abc', `${'A'.repeat(43)}=`, `${'A'.repeat(42)}+`, 'A'.repeat(44)]) {
      expect(verify({ token })).toEqual({ ok: false, reason: 'malformed' });
    }
    expect(verify({ path: 'live/cam1' })).toEqual({ ok: false, reason: 'malformed' });
  });

  it('rejects a tampered path or expiry', () => {
    expect(verify({ path: '/live/cam2' })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verify({ expires: String(EXP + 3600) })).toEqual({ ok: false, reason: 'bad-signature' });
    // a tampered expiry in the past is still a bad signature, not "expired"
    expect(verify({ expires: String(EXP - 3600) })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('accepts previous secrets for rotation, and no secrets means nothing verifies', () => {
    const token = signPath({ secret: OLD, path: '/live/cam1', expires: EXP });
    expect(verify({ token, secrets: [SECRET, OLD] })).toEqual({ ok: true });
    expect(verify({ token, secrets: [SECRET] })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verify({ secrets: [] })).toEqual({ ok: false, reason: 'bad-signature' });
    expect(verify({ secrets: [''] })).toEqual({ ok: false, reason: 'bad-signature' });
  });

  describe('IP binding', () => {
    const bound = signPath({ secret: SECRET, path: '/live/cam1', expires: EXP, ip: '203.0.113.7' });

    it('accepts the bound address, including its IPv4-mapped form', () => {
      expect(verify({ token: bound, ip: '203.0.113.7', bindIp: true })).toEqual({ ok: true });
      expect(verify({ token: bound, ip: '::ffff:203.0.113.7', bindIp: true })).toEqual({ ok: true });
    });

    it('rejects another address when bound', () => {
      expect(verify({ token: bound, ip: '203.0.113.8', bindIp: true })).toEqual({
        ok: false,
        reason: 'bad-signature',
      });
      expect(verify({ token: bound, bindIp: true })).toEqual({ ok: false, reason: 'bad-signature' });
    });

    it('rejects an unbound token when binding is required', () => {
      expect(verify({ ip: '203.0.113.7', bindIp: true })).toEqual({ ok: false, reason: 'bad-signature' });
    });

    it('ignores the client IP for unbound tokens when not bound', () => {
      expect(verify({ ip: '198.51.100.1' })).toEqual({ ok: true });
      expect(verify({ ip: '2001:db8::1' })).toEqual({ ok: true });
      expect(verify({ ip: undefined })).toEqual({ ok: true });
      // a token the signer bound to an address still works only from that address
      expect(verify({ token: bound, ip: '203.0.113.7' })).toEqual({ ok: true });
      expect(verify({ token: bound, ip: '198.51.100.1' })).toEqual({ ok: false, reason: 'bad-signature' });
    });

    it('matches IPv6 in any notation', () => {
      const t = signPath({ secret: SECRET, path: '/live/cam1', expires: EXP, ip: '2001:db8::1' });
      expect(verify({ token: t, ip: '2001:0DB8:0:0:0:0:0:1', bindIp: true })).toEqual({ ok: true });
    });
  });

  it('property: any change to the token, path or expiry fails', () => {
    const b64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const pathArb = fc.stringMatching(/^\/[A-Za-z0-9_.~-]{1,20}\/[A-Za-z0-9_.~-]{1,20}$/);
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('token' as const), at: fc.nat(42), by: fc.integer({ min: 1, max: 63 }) }),
      fc.record({ kind: fc.constant('path' as const), suffix: fc.string({ minLength: 1, maxLength: 5 }) }),
      fc.record({ kind: fc.constant('expiry' as const), delta: fc.integer({ min: 1, max: 1_000_000 }) }),
    );
    fc.assert(
      fc.property(
        fc.string({ minLength: 1, maxLength: 40 }),
        pathArb,
        fc.integer({ min: NOW / 1000 + 1, max: NOW / 1000 + 10_000_000 }),
        mutation,
        (secret, path, expires, m) => {
          const token = signPath({ secret, path, expires });
          const base = { secrets: [secret], path, expires: String(expires), token, bindIp: false, now: NOW };
          expect(verifySignedRequest(base)).toEqual({ ok: true });
          let changed: VerifyOptions;
          if (m.kind === 'token') {
            const c = b64[(b64.indexOf(token[m.at]) + m.by) % 64];
            changed = { ...base, token: token.slice(0, m.at) + c + token.slice(m.at + 1) };
          } else if (m.kind === 'path') {
            changed = { ...base, path: path + m.suffix };
          } else {
            changed = { ...base, expires: String(expires + (m.delta % 2 ? m.delta : -m.delta)) };
          }
          expect(verifySignedRequest(changed).ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });
});
