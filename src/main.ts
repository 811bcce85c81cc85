import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from './config/load.js';
import { TidecastError } from './errors.js';
import { createLogger } from './observability/logger.js';
import { TidecastServer } from './server.js';
import { runSignCli } from './sign-cli.js';
import { TlsConfigError } from './tls/tls-material.js';

if (process.argv[2] === 'sign') {
  try {
    runSignCli(process.argv.slice(3));
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  }
  process.exit(0);
}

function portArg(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number');
  return n;
}

const program = new Command()
  .name('tidecast')
  .description(
    'Live-streaming media server: RTMP in; RTMP, HTTP-FLV, WebSocket-FLV, HLS/LL-HLS and DASH out.',
  )
  .option('-c, --config <file>', 'YAML or JSON config file')
  .option('--host <address>', 'address to listen on')
  .option('--rtmp-port <port>', 'RTMP port', portArg)
  .option('--http-port <port>', 'HTTP port', portArg)
  .option('--log-level <level>', 'trace|debug|info|warn|error')
  .option('--log-format <format>', 'auto|json|pretty')
  .parse();

const opts = program.opts<{
  config?: string;
  host?: string;
  rtmpPort?: number;
  httpPort?: number;
  logLevel?: string;
  logFormat?: string;
}>();

const overrides: Record<string, unknown> = {};
if (opts.host) overrides.host = opts.host;
if (opts.rtmpPort !== undefined) overrides.rtmp = { port: opts.rtmpPort };
if (opts.httpPort !== undefined) overrides.http = { port: opts.httpPort };
if (opts.logLevel || opts.logFormat) overrides.log = { level: opts.logLevel, format: opts.logFormat };

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig({ file: opts.config ?? process.env.TIDECAST_CONFIG, env: process.env, overrides });
} catch (err) {
  console.error(err instanceof TidecastError ? err.message : err);
  process.exit(2);
}

const log = createLogger(config.log);
const server = new TidecastServer(config, log);
try {
  const ports = await server.start();
  const host = config.publicHost ?? (['0.0.0.0', '::'].includes(config.host) ? '127.0.0.1' : config.host);
  const app = Object.keys(config.apps)[0] ?? 'live';
  const lines = [`Tidecast is running.`];
  if (ports.rtmp !== undefined) {
    lines.push(`  Publish (OBS/ffmpeg):  rtmp://${host}:${ports.rtmp}/${app}/<stream-key>`);
    lines.push(`  Play RTMP:             rtmp://${host}:${ports.rtmp}/${app}/<stream-key>`);
  }
  if (ports.rtmps !== undefined) {
    lines.push(`  Publish/play RTMPS:    rtmps://${host}:${ports.rtmps}/${app}/<stream-key>`);
  }
  if (ports.https !== undefined) {
    lines.push(`  HTTPS/WSS (all HTTP):  https://${host}:${ports.https}/${app}/<stream-key>/index.m3u8`);
  }
  if (ports.http !== undefined) {
    lines.push(`  Play HTTP-FLV:         http://${host}:${ports.http}/${app}/<stream-key>.flv`);
    lines.push(`  Play WebSocket-FLV:    ws://${host}:${ports.http}/${app}/<stream-key>.flv`);
    if (config.hls.enabled) {
      lines.push(`  Play HLS / LL-HLS:     http://${host}:${ports.http}/${app}/<stream-key>/index.m3u8`);
      if (config.hls.dash && config.hls.segmentFormat === 'fmp4') {
        lines.push(`  Play MPEG-DASH:        http://${host}:${ports.http}/${app}/<stream-key>/index.mpd`);
      }
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  log.info({ ports, apps: Object.keys(config.apps) }, 'listening');
} catch (err) {
  if (err instanceof TlsConfigError) {
    console.error(`tidecast: cannot start: ${err.message}`);
    process.exit(2);
  }
  log.fatal({ err }, 'start-up failed');
  process.exit(1);
}

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  log.info({ signal }, 'shutting down');
  const timer = setTimeout(() => {
    log.warn('shutdown timed out; exiting');
    process.exit(0);
  }, config.shutdownTimeoutMs);
  timer.unref();
  await server.close();
  log.info('bye');
  log.flush?.();
  process.exit(0);
}
process.on('SIGHUP', () => {
  log.info('SIGHUP: reloading certificate and stream keys');
  server.reload();
});
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
