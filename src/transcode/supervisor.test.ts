import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { Supervisor, type SupervisorOptions } from './supervisor.js';

const FAKE = fileURLToPath(new URL('./fixtures/fake-child.mjs', import.meta.url));

interface LogLine {
  msg: string;
  [k: string]: unknown;
}

function memoryLogger(): { log: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino(
    { level: 'debug' },
    {
      write: (s: string) => {
        lines.push(JSON.parse(s));
      },
    },
  );
  return { log, lines };
}

const running: Supervisor[] = [];

function supervise(
  mode: string,
  over: Partial<SupervisorOptions> = {},
): { sup: Supervisor; lines: LogLine[] } {
  const { log, lines } = memoryLogger();
  const sup = new Supervisor({
    name: `fake ${mode}`,
    command: process.execPath,
    args: () => [FAKE, mode],
    restart: { initialDelayMs: 100, maxDelayMs: 400, stableAfterMs: 60_000 },
    stopTimeoutMs: 500,
    stderrLines: 5,
    log,
    random: () => 1, // no jitter: delays are exactly the backoff
    ...over,
  });
  running.push(sup);
  return { sup, lines };
}

async function until(cond: () => boolean, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Gone for good: no /proc entry (a zombie, not yet reaped, still has one). */
function processGone(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/stat`, 'utf8');
    return false;
  } catch {
    return true;
  }
}

afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.stop()));
});

describe('Supervisor (real child processes)', () => {
  it('restarts a crashing child with growing delays and logs why', async () => {
    const { sup, lines } = supervise('crash');
    sup.start();
    await until(() => sup.stats().restarts >= 3, 10_000, '3 restarts');
    const exits = lines.filter((l) => l.msg === 'child exited; restarting');
    expect(exits.length).toBeGreaterThanOrEqual(3);
    // 100, 200, 400 (capped at 400), no jitter
    expect(exits.slice(0, 3).map((l) => l.restartInMs)).toEqual([100, 200, 400]);
    expect(exits[0].code).toBe(1);
    expect(exits[0].stderr).toContain('[fake] something broke');
    const s = sup.stats();
    expect(s.lastExit?.code).toBe(1);
    expect(s.lastExit?.requested).toBe(false);
    expect(s.progress?.fps).toBeCloseTo(29.97);
  });

  it('jitters the delay between half and all of the backoff', async () => {
    const { sup, lines } = supervise('crash', { random: () => 0 });
    sup.start();
    await until(() => sup.stats().restarts >= 2, 10_000, '2 restarts');
    const delays = lines.filter((l) => l.msg === 'child exited; restarting').map((l) => l.restartInMs);
    expect(delays.slice(0, 2)).toEqual([50, 100]);
  });

  it('parses -progress output into stats()', async () => {
    const { sup } = supervise('progress');
    sup.start();
    await until(() => (sup.stats().progress?.frame ?? 0) >= 6, 10_000, 'progress');
    const p = sup.stats().progress!;
    expect(p.fps).toBeCloseTo(29.97);
    expect(p.speed).toBeCloseTo(1.01);
    expect(p.bitrateKbps).toBeCloseTo(812.5);
    expect(p.dropFrames).toBe(1);
    expect(p.outTimeMs).toBe(Math.round((p.frame! * 33333) / 1000));
    expect(sup.stats().state).toBe('running');
    expect(sup.stats().pid).toBeGreaterThan(0);
  });

  it('stop(): SIGTERM, and the child is reaped before it resolves (no zombie)', async () => {
    const { sup } = supervise('progress');
    sup.start();
    await until(() => sup.stats().progress !== undefined, 10_000, 'start');
    const pid = sup.pid!;
    await sup.stop();
    expect(sup.stats().state).toBe('stopped');
    expect(sup.stats().lastExit?.requested).toBe(true);
    expect(processGone(pid)).toBe(true);
  });

  it('stop(): SIGKILL after stopTimeoutMs when SIGTERM is ignored', async () => {
    const { sup } = supervise('stubborn');
    sup.start();
    await new Promise((r) => setTimeout(r, 300));
    const pid = sup.pid!;
    const t0 = Date.now();
    await sup.stop();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(400);
    expect(sup.stats().lastExit?.signal).toBe('SIGKILL');
    expect(processGone(pid)).toBe(true);
  });

  it('stop() while waiting to restart cancels the restart', async () => {
    const { sup } = supervise('crash', {
      restart: { initialDelayMs: 5_000, maxDelayMs: 5_000, stableAfterMs: 1 },
    });
    sup.start();
    await until(() => sup.stats().state === 'backoff', 10_000, 'backoff');
    expect(sup.stats().nextRestartInMs).toBeGreaterThan(0);
    await sup.stop();
    expect(sup.stats().state).toBe('stopped');
    await new Promise((r) => setTimeout(r, 200));
    expect(sup.pid).toBeUndefined();
  });

  it('rate-limits stderr: N lines per window, then one suppressed count', async () => {
    const { sup, lines } = supervise('spam');
    sup.start();
    await until(() => sup.stats().stderr.lines >= 200, 10_000, 'stderr lines');
    await sup.stop();
    const logged = lines.filter((l) => l.msg === 'child stderr');
    expect(logged).toHaveLength(5);
    const suppressed = lines.find((l) => String(l.msg).includes('suppressed'));
    expect(suppressed?.suppressed).toBe(195);
    expect(sup.stats().stderr.suppressed).toBe(195);
    expect(sup.stats().stderr.recent.at(-1)).toBe('[fake] line 199');
  });

  it('restartNow() replaces the child at once without counting a crash', async () => {
    const { sup } = supervise('progress');
    sup.start();
    await until(() => sup.pid !== undefined, 10_000, 'start');
    const first = sup.pid;
    sup.restartNow();
    await until(() => sup.pid !== undefined && sup.pid !== first, 10_000, 'new child');
    expect(sup.stats().restarts).toBe(0);
    expect(processGone(first!)).toBe(true);
  });

  it('a command that cannot be spawned backs off instead of throwing', async () => {
    const { sup, lines } = supervise('x', { command: '/nonexistent/ffmpeg-xyz' });
    sup.start();
    await until(() => sup.stats().restarts >= 2, 10_000, 'restarts');
    expect(sup.stats().lastExit?.error).toMatch(/ENOENT/);
    expect(lines.some((l) => l.msg === 'child exited; restarting')).toBe(true);
  });

  it('closing stdin ends a child that waits for the end of its input', async () => {
    const { sup } = supervise('stdin', { stopTimeoutMs: 5_000 });
    sup.start();
    await new Promise((r) => setTimeout(r, 200));
    await sup.stop();
    expect(sup.stats().lastExit?.code === 0 || sup.stats().lastExit?.signal === 'SIGTERM').toBe(true);
  });
});
