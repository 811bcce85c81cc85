/**
 * Debian's nginx with libnginx-mod-rtmp as a peer in tests: started in the foreground on a free loopback port
 * with a config of its own in a temp dir. Tests that need it skip when nginx or the module is missing:
 * `describe.skipIf(!hasNginxRtmp())`, which warns loudly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasTool } from './tools.js';

const MODULE_DIRS = ['/usr/lib/nginx/modules', '/usr/share/nginx/modules'];

export function rtmpModulePath(): string | undefined {
  return MODULE_DIRS.map((d) => join(d, 'ngx_rtmp_module.so')).find((f) => existsSync(f));
}

let warned = false;

/** True when nginx and its RTMP module are installed; when not, says so loudly (the tests that need them skip). */
export function hasNginxRtmp(): boolean {
  if (!hasTool('nginx')) return false;
  if (rtmpModulePath()) return true;
  if (!warned) {
    warned = true;
    console.warn(
      '\n*** libnginx-mod-rtmp (ngx_rtmp_module.so) is NOT installed: nginx-rtmp tests are SKIPPED. ' +
        'apt-get install nginx libnginx-mod-rtmp ***\n',
    );
  }
  return false;
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 0));
    });
  });
}

export interface NginxRtmp {
  port: number;
  dir: string;
  /** rtmp://127.0.0.1:<port>/<path> */
  url(path: string): string;
  /** nginx's error log so far (for failure messages) */
  errorLog(): string;
  stop(): Promise<void>;
}

export interface NginxRtmpOptions {
  /** listen here (default: a free port); a restarted nginx reuses its port */
  port?: number;
  /** `application` blocks; default `application live { live on; }` */
  applications?: string;
}

function waitForPort(
  port: number,
  child: ChildProcess,
  log: () => string,
  timeoutMs = 10_000,
): Promise<void> {
  const until = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`nginx exited (${child.exitCode}):\n${log()}`));
      if (Date.now() > until) return reject(new Error(`nginx is not listening on ${port}:\n${log()}`));
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve();
      });
      s.on('error', () => setTimeout(attempt, 50));
    };
    attempt();
  });
}

/** Starts `nginx -g 'daemon off;'` with the RTMP module on 127.0.0.1; stop() ends it and removes its dir. */
export async function startNginxRtmp(o: NginxRtmpOptions = {}): Promise<NginxRtmp> {
  const mod = rtmpModulePath();
  if (!mod) throw new Error('ngx_rtmp_module.so not found: apt-get install nginx libnginx-mod-rtmp');
  const port = o.port ?? (await freeLoopbackPort());
  const dir = mkdtempSync(join(tmpdir(), 'tidecast-nginx-'));
  const conf = [
    `load_module ${mod};`,
    'worker_processes 1;',
    'daemon off;',
    `pid ${dir}/nginx.pid;`,
    `error_log ${dir}/error.log info;`,
    'events { worker_connections 1024; }',
    'rtmp {',
    '  server {',
    `    listen 127.0.0.1:${port};`,
    '    chunk_size 4096;',
    `    ${o.applications ?? 'application live { live on; }'}`,
    '  }',
    '}',
  ].join('\n');
  writeFileSync(join(dir, 'nginx.conf'), `${conf}\n`);
  const child = spawn('nginx', ['-p', dir, '-e', join(dir, 'error.log'), '-c', join(dir, 'nginx.conf')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const errorLog = () => {
    const file = join(dir, 'error.log');
    return `${stderr}${existsSync(file) ? readFileSync(file, 'utf8') : ''}`;
  };
  try {
    await waitForPort(port, child, errorLog);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    port,
    dir,
    url: (path) => `rtmp://127.0.0.1:${port}/${path}`,
    errorLog,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        child.kill('SIGTERM'); // fast shutdown: the master ends its worker, connections close
        const t = setTimeout(() => child.kill('SIGKILL'), 3000);
        await exited;
        clearTimeout(t);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
