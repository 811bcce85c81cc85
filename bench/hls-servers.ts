/**
 * Servers for the HLS benchmark, each a child process on 127.0.0.1 with free ports: Tidecast (HLS configured
 * through TIDECAST_HLS_* environment variables) and nginx with nginx-rtmp writing HLS to a temporary directory
 * that an http{} server block of the same nginx serves. bench/servers.ts does not expose the HTTP port nor an
 * HLS config, hence this file; it reuses freePort from there.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './servers.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

export interface HlsServer {
  label: string;
  describe: string;
  pid: number;
  rtmpPort: number;
  httpPort: number;
  /** path of the stream's media playlist on httpPort */
  playlistPath: string;
  dir: string;
  stop(): Promise<void>;
}

export interface TidecastHlsOptions {
  format: 'fmp4' | 'mpegts';
  lowLatency: boolean;
  partTarget: number;
  targetDuration: number;
  mode: 'built' | 'tsx';
  /** checkout to run Tidecast from (default: this one) */
  dir?: string;
  /** stream name */
  name: string;
}

/** Children still running: killed if the benchmark exits early, so none is left behind. */
const live = new Map<ChildProcess, string>();
process.on('exit', () => {
  for (const [c, dir] of live) {
    c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

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

async function launch(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd: string,
  dir: string,
  ports: number[],
): Promise<ChildProcess> {
  const log = openSync(join(dir, 'server.log'), 'a');
  const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', log, log] });
  live.set(child, dir);
  try {
    await waitForPorts(ports, child);
  } catch (e) {
    child.kill('SIGKILL');
    live.delete(child);
    const tail = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8') : '';
    throw new Error(`${cmd} did not start: ${(e as Error).message}\n${tail.slice(-2000)}`);
  }
  return child;
}

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

const built = new Set<string>();

/** `npm run build` once per checkout, then `node dist/main.js`; tsx from source when the build fails. */
function tidecastEntry(mode: 'built' | 'tsx', cwd: string): { args: string[]; describe: string } {
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

export async function startTidecast(o: TidecastHlsOptions): Promise<HlsServer> {
  const dir = mkdtempSync(join(tmpdir(), 'tidecast-bench-hls-'));
  const rtmpPort = await freePort();
  const httpPort = await freePort();
  const cwd = o.dir ?? ROOT;
  const entry = tidecastEntry(o.mode, cwd);
  const args = [...entry.args, '--host', '127.0.0.1', '--rtmp-port', String(rtmpPort)];
  args.push('--http-port', String(httpPort), '--log-level', 'warn', '--log-format', 'json');
  const extra = process.env.BENCH_TIDECAST_NODE_OPTIONS?.split(' ').filter(Boolean) ?? [];
  const env = {
    ...process.env,
    TIDECAST_HLS_ENABLED: 'true',
    TIDECAST_HLS_SEGMENT_FORMAT: o.format,
    TIDECAST_HLS_LOW_LATENCY: String(o.lowLatency),
    TIDECAST_HLS_PART_TARGET: String(o.partTarget),
    TIDECAST_HLS_TARGET_DURATION: String(o.targetDuration),
  };
  const child = await launch(process.execPath, [...extra, ...args], env, cwd, dir, [rtmpPort, httpPort]);
  const hls = `${o.format}${o.lowLatency ? ` LL-HLS part ${o.partTarget} s` : ''}, target ${o.targetDuration} s`;
  return {
    label: o.lowLatency ? 'Tidecast LL-HLS' : 'Tidecast',
    describe: `${entry.describe}${cwd === ROOT ? '' : ` in ${cwd}`}; ${hls}`,
    pid: child.pid!,
    rtmpPort,
    httpPort,
    playlistPath: `/live/${o.name}/index.m3u8`,
    dir,
    stop: stopper(child, dir),
  };
}

function nginxVersion(): string {
  const r = spawnSync('nginx', ['-v'], { encoding: 'utf8' });
  return `${r.stderr ?? ''}${r.stdout ?? ''}`.trim().replace('nginx version: nginx/', '') || '?';
}

/** nginx-rtmp `hls on` into <dir>/hls, served by an http{} block of the same nginx (one worker). */
export async function startNginxHls(o: { fragment: number; name: string }): Promise<HlsServer> {
  const mod = ['/usr/lib/nginx/modules', '/usr/share/nginx/modules']
    .map((d) => join(d, 'ngx_rtmp_module.so'))
    .find((f) => existsSync(f));
  if (!mod) throw new Error('ngx_rtmp_module.so not found: apt-get install nginx libnginx-mod-rtmp');
  const dir = mkdtempSync(join(tmpdir(), 'tidecast-bench-hls-nginx-'));
  mkdirSync(join(dir, 'hls'));
  // run as root, nginx's worker (which writes the HLS files and serves them) is `nobody`
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'hls'), 0o777);
  const rtmpPort = await freePort();
  const httpPort = await freePort();
  const conf = [
    `load_module ${mod};`,
    'worker_processes 1;',
    'worker_rlimit_nofile 8192;',
    'daemon off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log warn;`,
    'events { worker_connections 4096; }',
    'rtmp { server {',
    `  listen 127.0.0.1:${rtmpPort}; chunk_size 4096;`,
    `  application live { live on; hls on; hls_path ${dir}/hls; hls_fragment ${o.fragment}s; hls_playlist_length ${6 * o.fragment}s; }`,
    '} }',
    'http {',
    '  access_log off; sendfile on; tcp_nopush on; tcp_nodelay on;',
    '  keepalive_timeout 65s; keepalive_requests 1000000;',
    `  client_body_temp_path ${dir}/tmp; proxy_temp_path ${dir}/tmp; fastcgi_temp_path ${dir}/tmp;`,
    `  uwsgi_temp_path ${dir}/tmp; scgi_temp_path ${dir}/tmp;`,
    `  server { listen 127.0.0.1:${httpPort};`,
    '    location /hls {',
    '      types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }',
    `      root ${dir};`,
    '      add_header Cache-Control no-cache;',
    "      add_header Access-Control-Allow-Origin '*';",
    '    }',
    '  }',
    '}',
  ].join('\n');
  writeFileSync(join(dir, 'nginx.conf'), `${conf}\n`);
  const args = ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')];
  const child = await launch('nginx', args, process.env, ROOT, dir, [rtmpPort, httpPort]);
  return {
    label: 'nginx-rtmp',
    describe: `nginx ${nginxVersion()} + libnginx-mod-rtmp, hls_fragment ${o.fragment}s (MPEG-TS), sendfile on, access_log off`,
    pid: child.pid!,
    rtmpPort,
    httpPort,
    playlistPath: `/hls/${o.name}.m3u8`,
    dir,
    stop: stopper(child, dir),
  };
}
