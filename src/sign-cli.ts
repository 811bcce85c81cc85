import { Command, InvalidArgumentError } from 'commander';
import { runSignCommand } from './access/sign-command.js';
import { loadConfig } from './config/load.js';

/**
 * `tidecast sign <app/stream>`: prints a signed URL (signed mode). The secret comes from `--secret`, else the
 * first of `access.secrets` in the config (`-c`, `TIDECAST_CONFIG`, or the environment).
 */
export function runSignCli(argv: string[]): void {
  const cmd = new Command()
    .name('tidecast sign')
    .description('Print a signed URL for a stream (apps with publish or play in `signed` mode).')
    .argument('<path>', 'app/stream, e.g. live/cam1')
    .option('-c, --config <file>', 'config file holding access.secrets')
    .option('--secret <secret>', 'signing secret (default: the first of access.secrets)')
    .option('--expires-in <seconds>', 'lifetime in seconds (default: access.defaultExpirySeconds)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
      return n;
    })
    .option('--ip <address>', "bind the URL to the client's IP address")
    .option('--base-url <url>', 'prefix, e.g. rtmp://example.com:1935 or https://example.com:8443')
    .parse(argv, { from: 'user' });
  const opts = cmd.opts<{
    config?: string;
    secret?: string;
    expiresIn?: number;
    ip?: string;
    baseUrl?: string;
  }>();
  const config = loadConfig({
    file: opts.config ?? process.env.TIDECAST_CONFIG,
    env: process.env,
    overrides: {},
  });
  const secret = opts.secret ?? config.access.secrets[0];
  if (!secret) {
    console.error('no signing secret: pass --secret or set access.secrets in the config');
    process.exit(2);
  }
  const url = runSignCommand({
    secret,
    path: cmd.args[0],
    expiresIn: opts.expiresIn ?? config.access.defaultExpirySeconds,
    ip: opts.ip,
    baseUrl: opts.baseUrl,
  });
  process.stdout.write(`${url}\n`);
}
