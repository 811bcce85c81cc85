import { describe, expect, it } from 'vitest';
import { backoffDelay } from './backoff.js';

describe('backoffDelay', () => {
  const o = { initialMs: 1000, maxMs: 30_000, jitter: 0 };

  it('doubles from the initial delay and caps at the maximum', () => {
    expect([0, 1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, o))).toEqual([
      1000, 2000, 4000, 8000, 16_000, 30_000, 30_000,
    ]);
    expect(backoffDelay(1000, o)).toBe(30_000);
  });

  it('jitters by ± the fraction', () => {
    const j = { ...o, jitter: 0.5 };
    expect(backoffDelay(1, j, () => 0)).toBe(1000);
    expect(backoffDelay(1, j, () => 0.5)).toBe(2000);
    expect(backoffDelay(1, j, () => 0.999999)).toBe(3000);
    for (let i = 0; i < 200; i++) {
      const d = backoffDelay(3, { ...o, jitter: 0.3 });
      expect(d).toBeGreaterThanOrEqual(5600);
      expect(d).toBeLessThanOrEqual(10_400);
    }
  });
});
