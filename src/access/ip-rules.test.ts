import { describe, expect, it } from 'vitest';
import { IpRules, isValidCidr, parseCidrList } from './ip-rules.js';

const ok = { ok: true };
const denied = { ok: false, reason: 'ip-denied' };
const notAllowed = { ok: false, reason: 'ip-not-allowed' };

describe('parseCidrList', () => {
  it('accepts addresses and ranges of both families', () => {
    const b = parseCidrList(['10.0.0.0/8', '192.168.1.5', '2001:db8::/32', '::1', ' 172.16.0.0/12 ']);
    expect(b.check('10.200.3.4', 'ipv4')).toBe(true);
    expect(b.check('192.168.1.5', 'ipv4')).toBe(true);
    expect(b.check('192.168.1.6', 'ipv4')).toBe(false);
    expect(b.check('172.31.255.255', 'ipv4')).toBe(true);
    expect(b.check('2001:db8:abcd::1', 'ipv6')).toBe(true);
    expect(b.check('::1', 'ipv6')).toBe(true);
  });

  it('throws naming the bad entry', () => {
    expect(() => parseCidrList(['10.0.0.0/8', 'bogus'])).toThrow(/"bogus"/);
    expect(() => parseCidrList(['10.0.0.0/33'])).toThrow(/"10\.0\.0\.0\/33".*0-32/);
    expect(() => parseCidrList(['2001:db8::/129'])).toThrow(/0-128/);
    expect(() => parseCidrList(['10.0.0.0/'])).toThrow(/prefix/);
    expect(() => parseCidrList(['10.0.0.0/8/8'])).toThrow(/prefix/);
    expect(() => parseCidrList(['10.0.0.0/+8'])).toThrow(/prefix/);
    expect(() => parseCidrList(['::ffff:10.0.0.0/64'])).toThrow(/at least 96/);
    expect(() => parseCidrList(['fe80::1%eth0'])).toThrow(/zoned/);
    expect(() => parseCidrList([''])).toThrow(/""/);
  });

  it('isValidCidr agrees', () => {
    expect(isValidCidr('10.0.0.0/8')).toBe(true);
    expect(isValidCidr('2001:db8::/48')).toBe(true);
    expect(isValidCidr('10.0.0.256')).toBe(false);
    expect(isValidCidr('example.com')).toBe(false);
  });
});

describe('IpRules', () => {
  it('allows everyone without rules, even unparseable addresses', () => {
    const r = new IpRules();
    expect(r.empty).toBe(true);
    expect(r.check('1.2.3.4')).toEqual(ok);
    expect(r.check('')).toEqual(ok);
    expect(new IpRules({ allow: [], deny: [] }).check('::1')).toEqual(ok);
  });

  it('an allow list admits only its members', () => {
    const r = new IpRules({ allow: ['10.0.0.0/8', '2001:db8::/32'] });
    expect(r.check('10.1.2.3')).toEqual(ok);
    expect(r.check('11.1.2.3')).toEqual(notAllowed);
    expect(r.check('2001:db8::42')).toEqual(ok);
    expect(r.check('2001:db9::42')).toEqual(notAllowed);
  });

  it('a deny list rejects its members only', () => {
    const r = new IpRules({ deny: ['203.0.113.0/24', 'fd00::/8'] });
    expect(r.check('203.0.113.9')).toEqual(denied);
    expect(r.check('203.0.114.9')).toEqual(ok);
    expect(r.check('fd12:3456::1')).toEqual(denied);
    expect(r.check('fe80::1')).toEqual(ok);
  });

  it('deny wins over allow', () => {
    const r = new IpRules({ allow: ['10.0.0.0/8'], deny: ['10.6.6.0/24'] });
    expect(r.check('10.6.6.6')).toEqual(denied);
    expect(r.check('10.6.7.6')).toEqual(ok);
    expect(r.check('8.8.8.8')).toEqual(notAllowed);
  });

  it('IPv4-mapped IPv6 peers match IPv4 rules', () => {
    const r = new IpRules({ allow: ['127.0.0.0/8'], deny: ['127.6.6.6'] });
    expect(r.check('::ffff:127.0.0.1')).toEqual(ok);
    expect(r.check('::FFFF:7f00:1')).toEqual(ok);
    expect(r.check('::ffff:127.6.6.6')).toEqual(denied);
    expect(r.check('::ffff:128.0.0.1')).toEqual(notAllowed);
  });

  it('IPv4-mapped rules match plain IPv4 peers', () => {
    const r = new IpRules({ allow: ['::ffff:192.168.0.0/112', '::ffff:10.0.0.1'] });
    expect(r.check('192.168.44.1')).toEqual(ok);
    expect(r.check('10.0.0.1')).toEqual(ok);
    expect(r.check('10.0.0.2')).toEqual(notAllowed);
  });

  it('IPv6 ranges do not match IPv4 peers, and IPv4 ranges do not match IPv6 peers', () => {
    const r = new IpRules({ deny: ['::/0'] });
    expect(r.check('2001:db8::1')).toEqual(denied);
    expect(r.check('1.2.3.4')).toEqual(ok);
    expect(r.check('::ffff:1.2.3.4')).toEqual(ok);
    const v4 = new IpRules({ allow: ['0.0.0.0/0'] });
    expect(v4.check('1.2.3.4')).toEqual(ok);
    expect(v4.check('2001:db8::1')).toEqual(notAllowed);
  });

  it('matches IPv6 in any notation, ignoring a zone', () => {
    const r = new IpRules({ allow: ['2001:DB8:0:0::/64', 'fe80::/10'] });
    expect(r.check('2001:0db8:0000:0000:ffff:ffff:ffff:ffff')).toEqual(ok);
    expect(r.check('2001:db8:0:1::1')).toEqual(notAllowed);
    expect(r.check('fe80::1%eth0')).toEqual(ok);
  });

  it('rejects unparseable addresses when there are rules', () => {
    expect(new IpRules({ allow: ['10.0.0.0/8'] }).check('')).toEqual(notAllowed);
    expect(new IpRules({ deny: ['10.0.0.0/8'] }).check('unknown')).toEqual(denied);
  });

  it('throws on a bad entry', () => {
    expect(() => new IpRules({ deny: ['10.0.0.0/8', 'nope'] })).toThrow(/"nope"/);
  });
});
