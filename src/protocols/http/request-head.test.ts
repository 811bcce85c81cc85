import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseRequestHead } from './request-head.js';

const MAX = 16 * 1024;
const b = (s: string) => Buffer.from(s, 'latin1');

function parse(s: string) {
  return parseRequestHead(b(s), MAX);
}

describe('parseRequestHead', () => {
  const fixture =
    'GET /live/cam/index.m3u8?_HLS_msn=4&_HLS_part=1 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\n' +
    'Accept-Encoding: gzip, br\r\nX-Dup: a\r\nx-dup:  b \t\r\nIf-None-Match: "abc"\r\n\r\n';

  it('reads the request line and fields (names lower-cased, repeats joined, OWS trimmed)', () => {
    const r = parse(`${fixture}GET /next`);
    expect(r.kind).toBe('head');
    if (r.kind !== 'head') return;
    expect(r.head.method).toBe('GET');
    expect(r.head.target).toBe('/live/cam/index.m3u8?_HLS_msn=4&_HLS_part=1');
    expect(r.head.version).toBe('1.1');
    expect(r.head.length).toBe(fixture.length);
    expect(Object.fromEntries(r.head.headers)).toEqual({
      host: '127.0.0.1:8080',
      'accept-encoding': 'gzip, br',
      'x-dup': 'a, b',
      'if-none-match': '"abc"',
    });
  });

  it('gives the same head for the fixture split at every byte offset', () => {
    const whole = parse(fixture);
    for (let cut = 0; cut < fixture.length; cut++) {
      const first = parseRequestHead(b(fixture.slice(0, cut)), MAX);
      expect(first.kind, `cut ${cut}`).toBe('partial');
      const second = parseRequestHead(b(fixture), MAX, cut);
      expect(second, `cut ${cut}`).toEqual(whole);
    }
  });

  it('reads HTTP/1.0 and a head with no fields', () => {
    const r = parse('HEAD / HTTP/1.0\r\n\r\n');
    expect(r).toMatchObject({ kind: 'head', head: { method: 'HEAD', version: '1.0', length: 19 } });
  });

  it.each([
    ['obs-fold', 'GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n', 'field-line'],
    ['space before colon', 'GET / HTTP/1.1\r\nContent-Length : 5\r\n\r\n', 'field-name'],
    ['bare LF inside a value', 'GET / HTTP/1.1\r\nA: b\nB: c\r\n\r\n', 'field-value'],
    ['bare CR inside a value', 'GET / HTTP/1.1\r\nA: b\rc\r\n\r\n', 'field-value'],
    ['NUL in a value', 'GET / HTTP/1.1\r\nA: b\0\r\n\r\n', 'field-value'],
    ['LF-only head', 'GET / HTTP/1.1\nHost: x\n\n', 'bare-lf'],
    ['HTTP/2.0', 'GET / HTTP/2.0\r\n\r\n', 'version'],
    ['lower-case version', 'GET / http/1.1\r\n\r\n', 'version'],
    ['two spaces', 'GET  / HTTP/1.1\r\n\r\n', 'request-line'],
    ['space in target', 'GET /a b HTTP/1.1\r\n\r\n', 'request-line'],
    ['tab in target', 'GET /a\tb HTTP/1.1\r\n\r\n', 'target'],
    ['non-ASCII target', 'GET /\u00e9 HTTP/1.1\r\n\r\n', 'target'],
    ['missing version', 'GET /\r\n\r\n', 'request-line'],
    ['bad method', 'G(T / HTTP/1.1\r\n\r\n', 'method'],
    ['empty field name', 'GET / HTTP/1.1\r\n: x\r\n\r\n', 'field-line'],
  ])('refuses %s', (_label, text, reason) => {
    expect(parse(text)).toEqual({ kind: 'unsupported', reason });
  });

  it('refuses a head over the limit, complete or not', () => {
    const big = `GET / HTTP/1.1\r\nX: ${'a'.repeat(MAX)}\r\n\r\n`;
    expect(parse(big)).toEqual({ kind: 'unsupported', reason: 'head-too-large' });
    expect(parse(big.slice(0, MAX + 10))).toEqual({ kind: 'unsupported', reason: 'head-too-large' });
  });

  it('refuses more than 100 fields', () => {
    const fields = Array.from({ length: 101 }, (_, i) => `F${i}: v\r\n`).join('');
    expect(parse(`GET / HTTP/1.1\r\n${fields}\r\n`)).toEqual({
      kind: 'unsupported',
      reason: 'too-many-fields',
    });
  });

  it('never throws on random bytes, and a head it accepts is well-formed', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const r = parseRequestHead(Buffer.from(bytes), 256);
        if (r.kind === 'head') {
          expect(r.head.length).toBeLessThanOrEqual(bytes.length);
          expect(r.head.target).toMatch(/^[\x21-\x7e]+$/);
          for (const [k, v] of r.head.headers) {
            expect(k).toMatch(/^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
            expect(v).not.toMatch(/[\r\n\0]/);
          }
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('reads back any generated valid head, whatever the chunking', () => {
    const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
    const value = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?$/);
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'HEAD', 'POST'),
        fc.stringMatching(/^\/[\x21-\x7e]{0,40}$/),
        fc.uniqueArray(fc.tuple(token, value), { maxLength: 10, selector: ([k]) => k.toLowerCase() }),
        fc.nat(400),
        (method, target, fields, cutSeed) => {
          const text = `${method} ${target} HTTP/1.1\r\n${fields.map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
          const cut = cutSeed % text.length;
          expect(parseRequestHead(b(text.slice(0, cut)), MAX).kind).toBe('partial');
          const r = parseRequestHead(b(text), MAX, cut);
          expect(r.kind).toBe('head');
          if (r.kind !== 'head') return;
          expect(r.head.method).toBe(method);
          expect(r.head.target).toBe(target);
          expect(r.head.headers).toEqual(new Map(fields.map(([k, v]) => [k.toLowerCase(), v])));
        },
      ),
      { numRuns: 500 },
    );
  });
});
