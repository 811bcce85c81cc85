/**
 * Child processes for the benchmarks: free ports, start a server and wait for its ports, stop it, and kill whatever
 * is left if the benchmark exits early. Shared by the RTMP (servers.ts) and HLS (hls-servers.ts) benchmarks.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Servers still running: killed if the benchmark exits early (crash, Ctrl-C), so none is left behind. */
const live = new Map<ChildProcess, string>();
process.on('exit', () => {
  for (const [c, dir] of live) {
    c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => process.exit(130));

async function waitForPorts(ports: number[], child: ChildProcess, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (const port of ports) {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode}`);
      if (Date.now() > until) throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** temp dir of this run: server.log goes here; removed on stop */
  dir: string;
  /** ports that must accept connections before the server counts as started */
  ports: number[];
}

/**
 * Settings every benchmarked Tidecast gets: all load clients come from 127.0.0.1, so the per-IP connection
 * limits (a production safeguard) are lifted, and a fixed API token keeps it from writing one into the checkout.
 * Other servers ignore these variables.
 */
export const BENCH_TIDECAST_ENV: NodeJS.ProcessEnv = {
  TIDECAST_LIMITS_MAX_CONNECTIONS_PER_IP: '1000000',
  TIDECAST_LIMITS_CONNECTION_RATE_PER_IP: '1000000',
  TIDECAST_API_TOKEN: 'bench-api-token-not-secret-0123456789',
};

/** Spawns a server (stdout/stderr to <dir>/server.log) and waits until its ports listen. */
export async function spawnServer(cmd: string, args: string[], o: SpawnOptions): Promise<ChildProcess> {
  const log = openSync(join(o.dir, 'server.log'), 'a');
  const child = spawn(cmd, args, {
    cwd: o.cwd ?? ROOT,
    env: { ...BENCH_TIDECAST_ENV, ...(o.env ?? process.env) },
    stdio: ['ignore', log, log],
  });
  live.set(child, o.dir);
  try {
    await waitForPorts(o.ports, child);
  } catch (e) {
    child.kill('SIGKILL');
    live.delete(child);
    const tail = existsSync(join(o.dir, 'server.log')) ? readFileSync(join(o.dir, 'server.log'), 'utf8') : '';
    throw new Error(`${cmd} did not start: ${(e as Error).message}\n${tail.slice(-2000)}`);
  }
  return child;
}

export function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    live.delete(child);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 4000);
      await exited;
      clearTimeout(t);
    }
    rmSync(dir, { recursive: true, force: true });
  };
}

const built = new Set<string>();

/** `npm run build` once per checkout, then `node dist/main.js`; tsx from source when the build fails (src mid-edit). */
export function tidecastEntry(mode: 'built' | 'tsx', cwd: string): { args: string[]; describe: string } {
  if (mode === 'built') {
    try {
      if (!built.has(cwd)) execFileSync('npm', ['run', 'build', '--silent'], { cwd, stdio: 'pipe' });
      built.add(cwd);
      return { args: ['dist/main.js'], describe: 'node dist/main.js (npm run build)' };
    } catch (e) {
      const out = (e as { stdout?: Buffer }).stdout?.toString() ?? '';
      console.error(`npm run build failed, running from source with tsx instead:\n${out.slice(-1500)}`);
    }
  }
  return { args: ['--import', 'tsx', 'src/main.ts'], describe: 'node --import tsx src/main.ts' };
}

export function nginxVersion(): string {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  return `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().replace('nginx version: nginx/', '') || '?';
}

/** Debian's libnginx-mod-rtmp module file. */
export function rtmpModule(): string {
  const mod = ['/usr/lib/nginx/modules', '/usr/share/nginx/modules']
    .map((d) => join(d, 'ngx_rtmp_module.so'))
    .find((f) => existsSync(f));
  if (!mod) throw new Error('ngx_rtmp_module.so not found: apt-get install nginx libnginx-mod-rtmp');
  return mod;
}
