import { describe, expect, it } from 'vitest';
import { runSignCommand } from './sign-command.js';
import { verifySignedRequest } from './signed-url.js';

const SECRET = 'cli-secret-0123456789';
const NOW = 1_700_000_000_500;

function check(url: string, now: number, ip?: string, bindIp = false) {
  const u = new URL(url, 'http://placeholder');
  return verifySignedRequest({
    secrets: [SECRET],
    path: u.pathname,
    expires: u.searchParams.get('expires') ?? undefined,
    token: u.searchParams.get('token') ?? undefined,
    ip,
    bindIp,
    now,
  });
}

describe('runSignCommand', () => {
  it('signs for an hour by default', () => {
    const url = runSignCommand({ secret: SECRET, path: '/live/cam1', now: NOW });
    expect(url).toMatch(/^\/live\/cam1\?expires=1700003600&token=[A-Za-z0-9_-]{43}$/);
    expect(check(url, NOW)).toEqual({ ok: true });
    expect(check(url, 1_700_003_600_000)).toEqual({ ok: false, reason: 'expired' });
  });

  it('prefixes the base URL and adds a missing leading slash', () => {
    const url = runSignCommand({
      secret: SECRET,
      path: 'live/cam1',
      baseUrl: 'rtmp://example.com:1935/',
      now: NOW,
    });
    expect(url.startsWith('rtmp://example.com:1935/live/cam1?expires=1700003600&token=')).toBe(true);
  });

  it('honours expiresIn and ip', () => {
    const url = runSignCommand({
      secret: SECRET,
      path: '/live/cam1',
      expiresIn: 60,
      ip: '192.0.2.1',
      now: NOW,
    });
    expect(url).toContain('expires=1700000060&');
    expect(check(url, NOW, '192.0.2.1', true)).toEqual({ ok: true });
    expect(check(url, NOW, '192.0.2.2', true)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('uses the clock when now is not given', () => {
    const url = runSignCommand({ secret: SECRET, path: '/live/cam1', expiresIn: 5 });
    expect(check(url, Date.now())).toEqual({ ok: true });
  });

  it('rejects bad input', () => {
    expect(() => runSignCommand({ secret: SECRET, path: '/a/b', expiresIn: 0 })).toThrow(/expiry/);
    expect(() => runSignCommand({ secret: SECRET, path: '/a/b', expiresIn: 1.5 })).toThrow(/expiry/);
    expect(() => runSignCommand({ secret: SECRET, path: '/a/b?x=1' })).toThrow(/query/);
    expect(() => runSignCommand({ secret: '', path: '/a/b' })).toThrow(/secret/);
    expect(() => runSignCommand({ secret: SECRET, path: '/a/b', ip: 'host' })).toThrow(/IP/);
  });
});
