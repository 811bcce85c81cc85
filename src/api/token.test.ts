import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bearerToken, generateToken, resolveToken, tokensEqual } from './token.js';

describe('API token', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tidecast-token-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('generates 32 random bytes as base64url', () => {
    const a = generateToken();
    expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(a, 'base64url')).toHaveLength(32);
    expect(generateToken()).not.toBe(a);
  });

  it('the configured token wins and no file is touched', () => {
    const file = join(dir, 'token');
    expect(resolveToken('configured-token-0123', file)).toEqual({
      token: 'configured-token-0123',
      from: 'config',
    });
    expect(() => statSync(file)).toThrow();
  });

  it('makes the directories and a 0600 file, then reads it back', () => {
    const file = join(dir, 'a', 'b', 'token');
    const made = resolveToken(undefined, file);
    expect(made.from).toBe('generated');
    expect(readFileSync(file, 'utf8')).toBe(`${made.token}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const again = resolveToken(undefined, file);
    expect(again).toMatchObject({ token: made.token, from: 'file', looseMode: false });
  });

  it('reads a hand-written token file (trimmed) and flags loose permissions', () => {
    const file = join(dir, 'token');
    writeFileSync(file, '  my-own-token-0123456789  \n', { mode: 0o644 });
    expect(resolveToken(undefined, file)).toMatchObject({
      token: 'my-own-token-0123456789',
      from: 'file',
      looseMode: true,
    });
  });

  it('refuses a token file that holds no usable token', () => {
    const file = join(dir, 'token');
    writeFileSync(file, '\n');
    expect(() => resolveToken(undefined, file)).toThrow(/is empty/);
    writeFileSync(file, 'short\n');
    expect(() => resolveToken(undefined, file)).toThrow(/at least 16/);
    writeFileSync(file, 'two tokens-0123456789\n');
    expect(() => resolveToken(undefined, file)).toThrow(/no whitespace/);
  });

  it('compares in constant time, any lengths', () => {
    expect(tokensEqual('abc', 'abc')).toBe(true);
    expect(tokensEqual('abc', 'abd')).toBe(false);
    expect(tokensEqual('abc', 'abcd')).toBe(false);
    expect(tokensEqual('', 'abc')).toBe(false);
  });

  it('parses Authorization: Bearer', () => {
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('bearer   abc  ')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
    expect(bearerToken('Bearer')).toBeUndefined();
    expect(bearerToken('Bearer a b')).toBeUndefined();
    expect(bearerToken(undefined)).toBeUndefined();
  });
});
