import { type ChildProcess, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { Logger } from '../observability/logger.js';
import { LogLimiter } from './log-limiter.js';
import { type FfmpegProgress, ProgressParser } from './progress.js';

export interface RestartPolicy {
  /** first delay after a crash; doubles per consecutive crash, with jitter */
  initialDelayMs: number;
  maxDelayMs: number;
  /** a child that ran this long counts as healthy: the next crash starts from initialDelayMs again */
  stableAfterMs: number;
}

export interface SupervisorOptions {
  /** for logs and stats, e.g. `live/cam ladder` */
  name: string;
  command: string;
  /** argv, made at each (re)start */
  args: () => string[];
  /** pipes after stdin/stdout/stderr (fd 3, 4, ...) */
  outputs?: number;
  restart: RestartPolicy;
  /** after closing stdin and SIGTERM, SIGKILL when the child is still there after this */
  stopTimeoutMs: number;
  stderrLines: number;
  log: Logger;
  /** wire a new child's stdin and output pipes */
  onSpawn?: (child: ChildProcess, pipes: Readable[]) => void;
  /** a child exited (before any restart is scheduled) */
  onExit?: (exit: ExitInfo) => void;
  random?: () => number;
}

export type SupervisorState = 'idle' | 'running' | 'backoff' | 'stopping' | 'stopped';

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** spawn error (ENOENT, EACCES ...) */
  error?: string;
  at: number;
  uptimeMs: number;
  /** true when stop() or restartNow() asked for it */
  requested: boolean;
}

export interface SupervisorStats {
  name: string;
  state: SupervisorState;
  pid: number | undefined;
  /** restarts after unrequested exits */
  restarts: number;
  startedAt: number | undefined;
  uptimeMs: number;
  nextRestartInMs: number | undefined;
  lastExit: ExitInfo | undefined;
  progress: FfmpegProgress | undefined;
  stderr: { lines: number; suppressed: number; recent: string[] };
}

interface Running {
  child: ChildProcess;
  startedAt: number;
  exited: Promise<void>;
  requested: boolean;
  killTimer?: NodeJS.Timeout;
}

/**
 * Runs one child process and keeps it running: restart with exponential backoff and jitter after a crash, stderr
 * into a rate-limited log, `-progress` lines from stdout into stats(). stop() closes stdin, sends SIGTERM to the
 * child's process group, then SIGKILL after a timeout, and resolves only once the child has exited (it is reaped:
 * no zombie). Each child gets its own process group (`detached`), so a wrapper script's children go with it.
 */
export class Supervisor {
  private state: SupervisorState = 'idle';
  private current: Running | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private restartAt: number | undefined;
  private failures = 0;
  private restarts = 0;
  private lastExit: ExitInfo | undefined;
  private progress: FfmpegProgress | undefined;
  private readonly stderr: LogLimiter;
  private readonly random: () => number;

  constructor(private readonly o: SupervisorOptions) {
    this.random = o.random ?? Math.random;
    this.stderr = new LogLimiter(
      {
        line: (text) => o.log.warn({ child: o.name, stderr: text }, 'child stderr'),
        suppressed: (n) =>
          o.log.warn({ child: o.name, suppressed: n }, `child stderr: ${n} lines suppressed`),
      },
      o.stderrLines,
    );
  }

  get pid(): number | undefined {
    return this.current?.child.pid;
  }

  get running(): boolean {
    return this.state === 'running' || this.state === 'backoff';
  }

  /** Spawns the child (idempotent while running). */
  start(): void {
    if (this.state === 'running' || this.state === 'backoff' || this.state === 'stopping') return;
    this.spawnChild();
  }

  private spawnChild(): void {
    this.restartTimer = undefined;
    this.restartAt = undefined;
    const outputs = this.o.outputs ?? 0;
    const stdio: Array<'pipe'> = new Array(3 + outputs).fill('pipe');
    let child: ChildProcess;
    try {
      child = spawn(this.o.command, this.o.args(), { stdio, detached: true, windowsHide: true });
    } catch (err) {
      // bad arguments (e.g. a NUL byte): no process was made
      this.onChildExit(undefined, null, null, (err as Error).message);
      return;
    }
    this.state = 'running';
    const run: Running = { child, startedAt: Date.now(), exited: Promise.resolve(), requested: false };
    this.current = run;
    for (const s of child.stdio) s?.on('error', () => {}); // EPIPE on a dying child is expected
    const progress = new ProgressParser();
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (d: string) => {
      for (const p of progress.push(d)) this.progress = p;
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (d: string) => this.stderr.push(d));
    run.exited = new Promise<void>((resolve) => {
      let spawnError: string | undefined;
      child.once('error', (err) => {
        spawnError = err.message;
        // a process that never started emits no 'exit'
        if (child.pid === undefined) {
          this.onChildExit(run, null, null, spawnError);
          resolve();
        }
      });
      child.once('exit', (code, signal) => {
        this.onChildExit(run, code, signal, spawnError);
        resolve();
      });
    });
    const pipes = child.stdio.slice(3) as Readable[];
    this.o.onSpawn?.(child, pipes);
  }

  private onChildExit(
    run: Running | undefined,
    code: number | null,
    signal: NodeJS.Signals | null,
    error?: string,
  ): void {
    if (run) {
      clearTimeout(run.killTimer);
      // pipes held open by a grandchild must not keep the streams alive
      const stdio = run.child.stdio;
      setTimeout(() => {
        for (const s of stdio) (s as Readable | Writable | null)?.destroy();
      }, 1000).unref();
    }
    if (run && this.current !== run) return;
    this.current = undefined;
    this.stderr.flush();
    const now = Date.now();
    const uptimeMs = run ? now - run.startedAt : 0;
    const requested = run?.requested ?? false;
    const exit: ExitInfo = { code, signal, error, at: now, uptimeMs, requested };
    this.lastExit = exit;
    this.o.onExit?.(exit);
    if (this.state === 'stopping' || this.state === 'stopped') {
      this.state = 'stopped';
      return;
    }
    if (requested) {
      // restartNow(): straight back up
      this.spawnChild();
      return;
    }
    if (uptimeMs >= this.o.restart.stableAfterMs) this.failures = 0;
    const base = Math.min(this.o.restart.maxDelayMs, this.o.restart.initialDelayMs * 2 ** this.failures);
    const delay = Math.round(base / 2 + (this.random() * base) / 2);
    this.failures = Math.min(this.failures + 1, 30);
    this.restarts++;
    this.o.log.warn(
      {
        child: this.o.name,
        code,
        signal,
        err: error,
        uptimeMs,
        restartInMs: delay,
        stderr: this.stderr.recent.slice(-5),
      },
      'child exited; restarting',
    );
    this.state = 'backoff';
    this.restartAt = now + delay;
    this.restartTimer = setTimeout(() => {
      if (this.state === 'backoff') this.spawnChild();
    }, delay);
  }

  /** Ends the current child and starts a new one at once (a new source session), without counting a crash. */
  restartNow(): void {
    if (this.state === 'backoff') {
      clearTimeout(this.restartTimer);
      this.spawnChild();
      return;
    }
    const run = this.current;
    if (this.state !== 'running' || !run) return;
    run.requested = true;
    this.terminate(run);
  }

  private terminate(run: Running): void {
    const { child } = run;
    child.stdin?.end(); // ffmpeg finishes its outputs on end of input
    this.signal(child, 'SIGTERM');
    run.killTimer = setTimeout(() => this.signal(child, 'SIGKILL'), this.o.stopTimeoutMs);
    run.killTimer.unref();
  }

  private signal(child: ChildProcess, sig: NodeJS.Signals): void {
    if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig); // the whole process group
    } catch {
      child.kill(sig);
    }
  }

  /** No more restarts; the child is asked to stop, then killed. Resolves once it has exited. */
  async stop(): Promise<void> {
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    this.restartAt = undefined;
    const run = this.current;
    if (!run) {
      this.state = 'stopped';
      return;
    }
    if (this.state !== 'stopping') {
      this.state = 'stopping';
      run.requested = true;
      this.terminate(run);
    }
    await run.exited;
  }

  stats(): SupervisorStats {
    const run = this.current;
    const now = Date.now();
    return {
      name: this.o.name,
      state: this.state,
      pid: run?.child.pid,
      restarts: this.restarts,
      startedAt: run?.startedAt,
      uptimeMs: run ? now - run.startedAt : 0,
      nextRestartInMs: this.restartAt !== undefined ? Math.max(0, this.restartAt - now) : undefined,
      lastExit: this.lastExit,
      progress: this.progress,
      stderr: {
        lines: this.stderr.linesTotal,
        suppressed: this.stderr.suppressedTotal,
        recent: [...this.stderr.recent],
      },
    };
  }
}
