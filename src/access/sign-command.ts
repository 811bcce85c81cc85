import { signUrl } from './signed-url.js';

export interface SignCommandOptions {
  secret: string;
  /** resource path `/<app>/<name>` (a leading `/` is added when missing) */
  path: string;
  /** lifetime in seconds (default 3600) */
  expiresIn?: number;
  /** bind the URL to this client address */
  ip?: string;
  /** prefix for the printed URL, e.g. `rtmp://host:1935` or `http://host:8080` */
  baseUrl?: string;
  /** current time, ms (default Date.now()) */
  now?: number;
}

export const DEFAULT_EXPIRES_IN = 3600;

/**
 * The signed URL for `tidecast sign`: `<baseUrl><path>?expires=<s>&token=<t>`. The signature covers the
 * stream's `/<app>/<name>`, so the same `expires`/`token` query also works on that stream's other URLs
 * (`/<app>/<name>.flv`, `/<app>/<name>/index.m3u8`, ...). Throws on bad input.
 */
export function runSignCommand(opts: SignCommandOptions): string {
  const expiresIn = opts.expiresIn ?? DEFAULT_EXPIRES_IN;
  if (!Number.isSafeInteger(expiresIn) || expiresIn <= 0) {
    throw new Error(`expiry must be a positive whole number of seconds, got ${opts.expiresIn}`);
  }
  const path = opts.path.startsWith('/') ? opts.path : `/${opts.path}`;
  if (path.includes('?')) throw new Error('path must not have a query');
  const expires = Math.floor((opts.now ?? Date.now()) / 1000) + expiresIn;
  const signed = signUrl({ secret: opts.secret, path, expires, ip: opts.ip });
  return `${(opts.baseUrl ?? '').replace(/\/+$/, '')}${signed}`;
}
