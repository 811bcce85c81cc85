import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';

/**
 * Tidecast as its own OS process, started the way a user starts it: `node --import tsx src/main.ts --config
 * <file>`, with a YAML or JSON config file in a temp dir. Used by the multi-process interop tests.
 */

/** The API token every process gets (from the environment, so none is generated into the checkout). */
export const PROCESS_API_TOKEN = 'multi-process-test-token-0123456789abcdef';

/** process.env without any TIDECAST_* setting of the developer's shell (nor NODE_OPTIONS), plus `env`. */
export function cleanEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('TIDECAST_') && k !== 'NODE_OPTIONS') out[k] = v;
  }
  return { ...out, TIDECAST_API_TOKEN: PROCESS_API_TOKEN, ...env };
}

const handedOut = new Set<number>();

/** A port that was free a moment ago (never the same one twice in this test process). */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = createServer();
      s.once('error', reject);
      s.listen(0, '127.0.0.1', () => {
        const addr = s.address();
        s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

/** True when something accepts a TCP connection on 127.0.0.1:port. */
export function tcpOpen(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

export interface ConfigFile {
  file: string;
  rtmpPort: number;
  httpPort: number;
}

const dirs: string[] = [];

/** Writes `config` (which must set `rtmp.port` and `http.port`) as `<label>.yaml` or `<label>.json` in a temp dir. */
export function writeConfig(
  label: string,
  config: { rtmp: { port: number }; http: { port: number } } & Record<string, unknown>,
  format: 'yaml' | 'json' = 'yaml',
): ConfigFile {
  const dir = mkdtempSync(join(tmpdir(), `tidecast-proc-${label}-`));
  dirs.push(dir);
  const file = join(dir, `${label}.${format}`);
  writeFileSync(
    file,
    format === 'json' ? `${JSON.stringify(config, null, 2)}\n` : YAML.stringify(config, { lineWidth: 0 }),
  );
  return { file, rtmpPort: config.rtmp.port, httpPort: config.http.port };
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Date.now() at the 'exit' event */
  at: number;
}

const running = new Set<TidecastProcess>();

export class TidecastProcess {
  readonly out = { stdout: '', stderr: '' };
  /** resolves when the process has exited and its stdio is closed */
  readonly exited: Promise<Exit>;
  exit: Exit | undefined;
  /** when its ports accepted connections and /healthz answered 200 */
  readyAt = 0;
  readonly spawnedAt = Date.now();

  private constructor(
    readonly label: string,
    readonly config: ConfigFile,
    readonly child: ChildProcess,
  ) {
    const append = (k: 'stdout' | 'stderr') => (d: Buffer) => {
      if (this.out[k].length < 200_000) this.out[k] += d;
    };
    child.stdout?.on('data', append('stdout'));
    child.stderr?.on('data', append('stderr'));
    let exit: Exit | undefined;
    child.once('exit', (code, signal) => {
      exit = { code, signal, at: Date.now() };
      this.exit = exit;
    });
    this.exited = new Promise((resolve) =>
      child.once('close', (code, signal) => {
        running.delete(this);
        const e = exit ?? { code, signal, at: Date.now() };
        this.exit = e;
        resolve(e);
      }),
    );
  }

  /** Spawns `node --import tsx src/main.ts --config <file>` and waits until both ports serve. */
  static async start(label: string, config: ConfigFile, timeoutMs = 30_000): Promise<TidecastProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', config.file], {
      env: cleanEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p = new TidecastProcess(label, config, child);
    running.add(p);
    try {
      await p.waitReady(timeoutMs);
    } catch (err) {
      child.kill('SIGKILL');
      await p.exited;
      throw new Error(
        `${label} (${config.file}) did not start: ${(err as Error).message}\n` +
          `stdout: ${p.out.stdout.slice(-1500)}\nstderr: ${p.out.stderr.slice(-1500)}`,
      );
    }
    return p;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get rtmpPort(): number {
    return this.config.rtmpPort;
  }

  get httpPort(): number {
    return this.config.httpPort;
  }

  rtmpUrl(path: string): string {
    return `rtmp://127.0.0.1:${this.rtmpPort}/${path.replace(/^\//, '')}`;
  }

  httpUrl(path: string): string {
    return `http://127.0.0.1:${this.httpPort}/${path.replace(/^\//, '')}`;
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    const check = () => {
      if (this.exit || this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(`exited early (code ${this.child.exitCode}, signal ${this.child.signalCode})`);
      if (Date.now() > end) throw new Error(`not listening after ${timeoutMs} ms`);
    };
    while (!(await tcpOpen(this.rtmpPort, 500))) {
      check();
      await new Promise((r) => setTimeout(r, 50));
    }
    for (;;) {
      check();
      const ok = await fetch(this.httpUrl('healthz'), { signal: AbortSignal.timeout(1000) })
        .then((r) => r.status === 200)
        .catch(() => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    this.readyAt = Date.now();
  }

  /** An API call with the bearer token; the body parsed as JSON (undefined when empty). */
  async api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(this.httpUrl(path), {
      method,
      headers: { Authorization: `Bearer ${PROCESS_API_TOKEN}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  /** GET an API path, expecting 200. */
  async get<T>(path: string): Promise<T> {
    const r = await this.api<T>('GET', path);
    if (r.status !== 200) throw new Error(`${this.label}: GET ${path} answered ${r.status}`);
    return r.body;
  }

  /** Sends `signal` and waits for the exit. */
  async kill(signal: NodeJS.Signals): Promise<Exit> {
    if (this.exit === undefined) this.child.kill(signal);
    return this.exited;
  }
}

/** SIGKILLs every process still running and removes the config dirs (afterAll). */
export async function killAllTidecast(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill('SIGKILL')));
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

// a crashed or interrupted test run leaves no server behind
process.once('exit', () => {
  for (const p of running) p.child.kill('SIGKILL');
});
