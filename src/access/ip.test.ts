import { describe, expect, it } from 'vitest';
import { normaliseIp } from './ip.js';

describe('normaliseIp', () => {
  it('keeps IPv4 as is', () => {
    expect(normaliseIp('10.1.2.3')).toBe('10.1.2.3');
    expect(normaliseIp(' 10.1.2.3 ')).toBe('10.1.2.3');
  });

  it('turns IPv4-mapped IPv6 into IPv4, in dotted and hex forms', () => {
    expect(normaliseIp('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(normaliseIp('::FFFF:1.2.3.4')).toBe('1.2.3.4');
    expect(normaliseIp('::ffff:7f00:1')).toBe('127.0.0.1');
    expect(normaliseIp('0:0:0:0:0:ffff:c0a8:0101')).toBe('192.168.1.1');
  });

  it('canonicalises IPv6', () => {
    expect(normaliseIp('2001:0DB8:0:0::1')).toBe('2001:db8::1');
    expect(normaliseIp('::1')).toBe('::1');
    expect(normaliseIp('fe80::1%eth0')).toBe('fe80::1%eth0');
    // IPv4-translated (::ffff:0:a.b.c.d) is not IPv4-mapped
    expect(normaliseIp('::ffff:0:1.2.3.4')).toBe('::ffff:0:102:304');
  });

  it('rejects non-addresses', () => {
    expect(normaliseIp('')).toBeUndefined();
    expect(normaliseIp('localhost')).toBeUndefined();
    expect(normaliseIp('1.2.3.4/8')).toBeUndefined();
    expect(normaliseIp('999.1.1.1')).toBeUndefined();
  });
});
