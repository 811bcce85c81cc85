import { describe, expect, it } from 'vitest';
import { parseRequestTarget } from './request-target.js';

describe('parseRequestTarget', () => {
  it('splits origin-form into path and query', () => {
    const t = parseRequestTarget('/live/cam/index.m3u8?_HLS_msn=3&hs=a.b');
    expect(t?.pathname).toBe('/live/cam/index.m3u8');
    expect(t?.searchParams.get('_HLS_msn')).toBe('3');
    expect(parseRequestTarget('/x')?.searchParams.size).toBe(0);
  });

  it('accepts absolute-form (RFC 9112 §3.2.2) by dropping scheme and authority', () => {
    expect(parseRequestTarget('http://example.com:8080/live/cam.flv?token=1')?.pathname).toBe(
      '/live/cam.flv',
    );
    expect(parseRequestTarget('HTTPS://example.com/a')?.pathname).toBe('/a');
    expect(parseRequestTarget('http://example.com')?.pathname).toBe('/');
    expect(parseRequestTarget('http://example.com?x=1')?.searchParams.get('x')).toBe('1');
  });

  it('refuses asterisk-form and other shapes', () => {
    expect(parseRequestTarget('*')).toBeUndefined();
    expect(parseRequestTarget('ftp://example.com/x')).toBeUndefined();
    expect(parseRequestTarget('live/cam')).toBeUndefined();
  });
});
