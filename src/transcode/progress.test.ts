import { describe, expect, it } from 'vitest';
import { LogLimiter } from './log-limiter.js';
import { ProgressParser } from './progress.js';

const BLOCK =
  'frame=120\nfps=29.95\nstream_0_0_q=23.0\nbitrate=1234.5kbits/s\ntotal_size=618000\nout_time_us=4000000\n' +
  'out_time_ms=4000000\nout_time=00:00:04.000000\ndup_frames=0\ndrop_frames=2\nspeed=0.998x\nprogress=continue\n';

describe('ProgressParser', () => {
  it('parses a -progress block', () => {
    const [p] = new ProgressParser().push(BLOCK);
    expect(p).toEqual({
      frame: 120,
      fps: 29.95,
      speed: 0.998,
      outTimeMs: 4000,
      bitrateKbps: 1234.5,
      totalSize: 618000,
      dupFrames: 0,
      dropFrames: 2,
      progress: 'continue',
    });
  });

  it('gives the same result for input split at every offset', () => {
    const two = BLOCK + BLOCK.replace('frame=120', 'frame=150').replace('continue', 'end');
    for (let k = 0; k <= two.length; k++) {
      const p = new ProgressParser();
      const out = [...p.push(two.slice(0, k)), ...p.push(two.slice(k))];
      expect(out.map((x) => [x.frame, x.progress])).toEqual([
        [120, 'continue'],
        [150, 'end'],
      ]);
    }
  });

  it('N/A values and junk lines do not break it', () => {
    const [p] = new ProgressParser().push('junk\n=x\nbitrate=N/A\nspeed=N/A\nfps=0.00\nprogress=continue\n');
    expect(p.bitrateKbps).toBeUndefined();
    expect(p.speed).toBeUndefined();
    expect(p.fps).toBe(0);
  });
});

describe('LogLimiter', () => {
  it('logs N lines per window, then reports the rest as one suppressed count', () => {
    let t = 0;
    const logged: string[] = [];
    const suppressed: number[] = [];
    const l = new LogLimiter(
      { line: (s) => logged.push(s), suppressed: (n) => suppressed.push(n) },
      3,
      10_000,
      4,
      () => t,
    );
    l.push('a\nb\nc\nd\ne\n');
    expect(logged).toEqual(['a', 'b', 'c']);
    t = 10_001;
    l.push('f\n');
    expect(suppressed).toEqual([2]);
    expect(logged).toEqual(['a', 'b', 'c', 'f']);
    expect(l.recent).toEqual(['c', 'd', 'e', 'f']);
    expect(l.suppressedTotal).toBe(2);
  });

  it('joins lines split across chunks, handles \\r, and flushes a partial last line', () => {
    const logged: string[] = [];
    const l = new LogLimiter({ line: (s) => logged.push(s), suppressed: () => {} }, 10);
    l.push('hel');
    l.push('lo\r\nwor');
    l.push('ld\rx');
    l.flush();
    expect(logged).toEqual(['hello', 'world', 'x']);
  });
});
