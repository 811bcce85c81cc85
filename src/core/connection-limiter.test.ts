import { describe, expect, it } from 'vitest';
import { ConnectionLimiter } from './connection-limiter.js';

describe('ConnectionLimiter', () => {
  it('caps open connections per IP and frees a slot on release (once)', () => {
    const l = new ConnectionLimiter({ maxPerIp: 2, ratePerIp: 100 });
    const a = l.admit('10.0.0.1');
    const b = l.admit('10.0.0.1');
    expect(a.ok && b.ok).toBe(true);
    expect(l.admit('10.0.0.1')).toEqual({ ok: false, reason: 'per-ip-limit' });
    expect(l.admit('10.0.0.2').ok).toBe(true);
    if (a.ok) {
      a.release();
      a.release();
    }
    expect(l.count('10.0.0.1')).toBe(1);
    expect(l.admit('10.0.0.1').ok).toBe(true);
    expect(l.admit('10.0.0.1').ok).toBe(false);
  });

  it('caps the total over all addresses', () => {
    const l = new ConnectionLimiter({ maxPerIp: 10, ratePerIp: 100, maxTotal: 2 });
    const a = l.admit('10.0.0.1');
    expect(l.admit('10.0.0.2').ok).toBe(true);
    expect(l.admit('10.0.0.3')).toEqual({ ok: false, reason: 'max-connections' });
    if (a.ok) a.release();
    expect(l.openTotal).toBe(1);
    expect(l.admit('10.0.0.3').ok).toBe(true);
  });

  it('limits the rate of new connections per IP with a token bucket', () => {
    let now = 0;
    const l = new ConnectionLimiter({ maxPerIp: 1000, ratePerIp: 5 }, () => now);
    const burst = Array.from({ length: 7 }, () => l.admit('1.2.3.4').ok);
    expect(burst).toEqual([true, true, true, true, true, false, false]);
    now += 200; // one token back
    expect(l.admit('1.2.3.4').ok).toBe(true);
    expect(l.admit('1.2.3.4')).toEqual({ ok: false, reason: 'rate-limit' });
    now += 10_000; // refills to the cap, not beyond
    expect(Array.from({ length: 6 }, () => l.admit('1.2.3.4').ok).filter(Boolean).length).toBe(5);
    expect(l.admit('5.6.7.8').ok).toBe(true);
  });
});
