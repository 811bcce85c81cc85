import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, nginxVersion, ROOT, rtmpModule, spawnServer, stopper, tidecastEntry } from './process.js';

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
  const child = await spawnServer(process.execPath, [...extra, ...args], {
    env,
    cwd,
    dir,
    ports: [rtmpPort, httpPort],
  });
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

/** nginx-rtmp `hls on` into <dir>/hls, served by an http{} block of the same nginx (one worker). */
export async function startNginxHls(o: { fragment: number; name: string }): Promise<HlsServer> {
  const mod = rtmpModule();
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
  const child = await spawnServer('nginx', args, { dir, ports: [rtmpPort, httpPort] });
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
