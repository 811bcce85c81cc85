import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseSignatureHeader, signBody, verifyBodySignature } from './signature.js';

const SECRET = 'correct horse battery staple';
const BODY = '{"event":"publish","name":"cam1"}';
const T = 1_700_000_000;

describe('webhook signature', () => {
  it('is t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<body>">', () => {
    const expected = createHmac('sha256', SECRET).update(`${T}.${BODY}`).digest('hex');
    expect(signBody(SECRET, BODY, T)).toBe(`t=${T},v1=${expected}`);
    expect(signBody(SECRET, Buffer.from(BODY), T + 0.9)).toBe(`t=${T},v1=${expected}`);
  });

  it('verifies with the secret and fails with another, or with a changed body', () => {
    const header = signBody(SECRET, BODY, T);
    expect(verifyBodySignature(SECRET, BODY, header, T + 10, 300)).toBe(true);
    expect(verifyBodySignature(SECRET, Buffer.from(BODY), header, T, 300)).toBe(true);
    expect(verifyBodySignature('another secret', BODY, header, T, 300)).toBe(false);
    expect(verifyBodySignature(SECRET, `${BODY} `, header, T, 300)).toBe(false);
  });

  it('accepts any of several secrets, and any of several v1 entries (rotation)', () => {
    const header = signBody(SECRET, BODY, T);
    expect(verifyBodySignature(['old secret', SECRET], BODY, header, T, 300)).toBe(true);
    const other = signBody('old secret', BODY, T).split(',')[1];
    expect(verifyBodySignature(SECRET, BODY, `${header},${other}`, T, 300)).toBe(true);
    expect(verifyBodySignature('old secret', BODY, `${header},${other}`, T, 300)).toBe(true);
  });

  it('rejects a timestamp outside the tolerance, either way', () => {
    const header = signBody(SECRET, BODY, T);
    expect(verifyBodySignature(SECRET, BODY, header, T + 301, 300)).toBe(false);
    expect(verifyBodySignature(SECRET, BODY, header, T - 301, 300)).toBe(false);
  });

  it('treats malformed headers as invalid', () => {
    const v1 = signBody(SECRET, BODY, T).split(',')[1];
    for (const bad of [
      undefined,
      '',
      'garbage',
      `t=abc,${v1}`,
      v1,
      `t=${T}`,
      `t=${T},v1=zz`,
      `t=${T},v1=abcd`,
    ]) {
      expect(verifyBodySignature(SECRET, BODY, bad, T, 300)).toBe(false);
    }
    expect(parseSignatureHeader(`t=${T},v0=old,${v1}`)?.v1).toHaveLength(1);
  });
});
