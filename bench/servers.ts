/**
 * Starting and stopping the servers under test, each as a child process on 127.0.0.1 with free ports,
 * and reading their CPU time and memory from /proc (the whole process tree: nginx has a master and a worker).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type ServerName = 'tidecast' | 'nginx' | 'nms';
export const SERVER_LABEL: Record<ServerName, string> = {
  tidecast: 'Tidecast',
  nginx: 'nginx-rtmp',
  nms: 'node-media-server',
};

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const CLK_TCK = 100;

export interface RunningServer {
  name: ServerName;
  rtmpPort: number;
  pid: number;
  dir: string;
  describe: string;
  stop(): Promise<void>;
}

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

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`server exited with code ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listening on ${port} after ${timeoutMs} ms`);
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

function stopper(child: ChildProcess, dir: string): () => Promise<void> {
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

async function launch(
  name: ServerName,
  cmd: string,
  args: string[],
  rtmpPort: number,
  dir: string,
  describe: string,
  cwd = ROOT,
): Promise<RunningServer> {
  const log = openSync(join(dir, 'server.log'), 'a');
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', log, log] });
  live.set(child, dir);
  try {
    await waitForPort(rtmpPort, child);
  } catch (e) {
    child.kill('SIGKILL');
    live.delete(child);
    const tail = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8') : '';
    throw new Error(`${name} did not start: ${(e as Error).message}\n${tail.slice(-2000)}`);
  }
  return { name, rtmpPort, pid: child.pid!, dir, describe, stop: stopper(child, dir) };
}

/** Builds dist/ once with `npm run build`; falls back to tsx when the build fails (src mid-edit). */
function tidecastEntry(mode: 'built' | 'tsx', cwd: string): { args: string[]; describe: string } {
  if (mode === 'built') {
    try {
      execFileSync('npm', ['run', 'build', '--silent'], { cwd, stdio: 'pipe' });
      return { args: ['dist/main.js'], describe: 'node dist/main.js (npm run build)' };
    } catch (e) {
      const out = (e as { stdout?: Buffer }).stdout?.toString() ?? '';
      console.error(`npm run build failed, running from source with tsx instead:\n${out.slice(-1500)}`);
    }
  }
  return { args: ['--import', 'tsx', 'src/main.ts'], describe: 'node --import tsx src/main.ts' };
}

export interface StartOptions {
  tidecastMode: 'built' | 'tsx';
  /** checkout to run Tidecast from (default: this one), e.g. to compare a branch */
  tidecastDir?: string;
}

export async function startServer(name: ServerName, o: StartOptions): Promise<RunningServer> {
  const dir = mkdtempSync(join(tmpdir(), `tidecast-bench-${name}-`));
  const rtmpPort = await freePort();
  const httpPort = await freePort();
  if (name === 'tidecast') {
    const cwd = o.tidecastDir ?? ROOT;
    const entry = tidecastEntry(o.tidecastMode, cwd);
    const args = [...entry.args, '--host', '127.0.0.1', '--rtmp-port', String(rtmpPort)];
    args.push('--http-port', String(httpPort), '--log-level', 'warn', '--log-format', 'json');
    const extra = process.env.BENCH_TIDECAST_NODE_OPTIONS?.split(' ').filter(Boolean) ?? [];
    const describe = cwd === ROOT ? entry.describe : `${entry.describe} in ${cwd}`;
    return launch(name, process.execPath, [...extra, ...args], rtmpPort, dir, describe, cwd);
  }
  if (name === 'nginx') {
    const mod = ['/usr/lib/nginx/modules', '/usr/share/nginx/modules']
      .map((d) => join(d, 'ngx_rtmp_module.so'))
      .find((f) => existsSync(f));
    if (!mod) throw new Error('ngx_rtmp_module.so not found: apt-get install nginx libnginx-mod-rtmp');
    const conf = [
      `load_module ${mod};`,
      'worker_processes 1;',
      'worker_rlimit_nofile 8192;',
      'daemon off;',
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      'events { worker_connections 4096; }',
      `rtmp { server { listen 127.0.0.1:${rtmpPort}; chunk_size 4096; application live { live on; } } }`,
    ].join('\n');
    writeFileSync(join(dir, 'nginx.conf'), `${conf}\n`);
    const args = ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')];
    return launch(name, 'nginx', args, rtmpPort, dir, `nginx ${nginxVersion()} + libnginx-mod-rtmp`);
  }
  const nmsVersion = JSON.parse(
    readFileSync(join(ROOT, 'node_modules/node-media-server/package.json'), 'utf8'),
  ).version;
  const args = [join(ROOT, 'bench/nms-server.mjs'), String(rtmpPort), String(httpPort), dir];
  return launch(name, process.execPath, args, rtmpPort, dir, `node-media-server ${nmsVersion}`);
}

function nginxVersion(): string {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  return `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().replace('nginx version: nginx/', '') || '?';
}

// ---- /proc ---------------------------------------------------------------------------------------

/** pid and all its descendants. */
export function processTree(pid: number): number[] {
  const parent = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(fields[1]));
    } catch {
      // the process exited while we looked
    }
  }
  const out = [pid];
  for (let i = 0; i < out.length; i++) for (const [c, p] of parent) if (p === out[i]) out.push(c);
  return out;
}

/** utime and stime in seconds of a set of processes (a process that is gone counts 0). */
export function cpuTimes(pids: readonly number[]): { user: number; sys: number } {
  let user = 0;
  let sys = 0;
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      user += Number(f[11]) / CLK_TCK; // field 14 of stat(5)
      sys += Number(f[12]) / CLK_TCK; // field 15
    } catch {
      // exited
    }
  }
  return { user, sys };
}

/** VmRSS and VmHWM in bytes (0 if gone). */
export function memory(pid: number): { rss: number; hwm: number } {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: 0, hwm: 0 };
  }
}

/** Busy and total jiffies of the whole machine (/proc/stat "cpu" line). */
export function machineJiffies(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - v[3] - (v[4] ?? 0), total };
}
