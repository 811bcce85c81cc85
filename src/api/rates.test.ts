import { describe, expect, it } from 'vitest';
import { RateSampler, type StreamBytes } from './rates.js';

const at = (bytesIn: number, players: Array<[string, number]>, publishedAt = 0): StreamBytes => ({
  path: 'live/a',
  publishedAt,
  bytesIn,
  players: players.map(([id, bytesOut]) => ({ id, bytesOut })),
});

describe('RateSampler', () => {
  it('computes bits per second over the sampled window', () => {
    const r = new RateSampler(5_000);
    r.sample([at(0, [['p1', 0]])], 1_000);
    r.sample([at(125_000, [['p1', 250_000]])], 2_000);
    expect(r.rates(at(125_000, [['p1', 250_000]]), 2_000)).toEqual({
      in: 1_000_000,
      out: 2_000_000,
      bytesOut: 250_000,
    });
    // the window slides: only the last ~5 s count
    for (let t = 3_000; t <= 10_000; t += 1_000) r.sample([at(125_000, [['p1', 250_000]])], t);
    expect(r.rates(at(125_000, [['p1', 250_000]]), 10_000)).toMatchObject({ in: 0, out: 0 });
  });

  it('a player leaving does not make bytes out go backwards', () => {
    const r = new RateSampler(5_000);
    r.sample(
      [
        at(0, [
          ['p1', 0],
          ['p2', 0],
        ]),
      ],
      0,
    );
    r.sample(
      [
        at(0, [
          ['p1', 1000],
          ['p2', 1000],
        ]),
      ],
      1_000,
    );
    r.sample([at(0, [['p2', 2000]])], 2_000); // p1 left with 1000 sent
    const rates = r.rates(at(0, [['p2', 2000]]), 2_000);
    expect(rates.bytesOut).toBe(3000);
    expect(rates.out).toBe(12_000); // 3000 bytes over 2 s
  });

  it('before two samples, rates are averaged since publish', () => {
    const r = new RateSampler();
    expect(r.rates(at(250_000, [['p1', 500_000]], 0), 2_000)).toEqual({
      in: 1_000_000,
      out: 2_000_000,
      bytesOut: 500_000,
    });
  });

  it('a new publisher restarts the samples; a stream no longer live is forgotten', () => {
    const r = new RateSampler();
    r.sample([at(0, [], 0)], 0);
    r.sample([at(1_000_000, [], 0)], 1_000);
    // republished at t=1500: new totals, no negative rate from the old samples
    expect(r.rates(at(1000, [], 1_500), 2_500)).toEqual({ in: 8000, out: 0, bytesOut: 0 });
    r.sample([], 3_000);
    expect(r.rates(at(1000, [], 0), 3_000).in).toBe(Math.round((1000 * 8) / 3));
  });

  it('CPU share of one core between samples', () => {
    const r = new RateSampler();
    r.sampleCpu(0, { user: 0, system: 0 });
    r.sampleCpu(1_000, { user: 200_000, system: 50_000 });
    expect(r.cpuPercentOfOneCore).toBe(25);
  });
});
