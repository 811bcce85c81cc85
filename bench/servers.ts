/**
 * Starting and stopping the servers under test, each as a child process on 127.0.0.1 with free ports,
 * and reading their CPU time and memory from /proc (the whole process tree: nginx has a master and a worker).
 */
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, nginxVersion, ROOT, rtmpModule, spawnServer, stopper, tidecastEntry } from './process.js';

export type ServerName = 'tidecast' | 'nginx' | 'nms';
export const SERVER_LABEL: Record<ServerName, string> = {
  tidecast: 'Tidecast',
  nginx: 'nginx-rtmp',
  nms: 'node-media-server',
};

const CLK_TCK = 100;

export { freePort } from './process.js';

export interface RunningServer {
  name: ServerName;
  rtmpPort: number;
  pid: number;
  dir: string;
  describe: string;
  stop(): Promise<void>;
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
  const child = await spawnServer(cmd, args, { cwd, dir, ports: [rtmpPort] });
  return { name, rtmpPort, pid: child.pid!, dir, describe, stop: stopper(child, dir) };
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
    const mod = rtmpModule();
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
