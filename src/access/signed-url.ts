import { createHmac, timingSafeEqual } from 'node:crypto';
import { normaliseIp } from './ip.js';

/**
 * HMAC-SHA256 signed URLs with an expiry, optionally bound to the client IP.
 *
 * The signed string is `${path}\n${expires}\n${ip}` (ip empty when unbound), where:
 * - `path` is the stream's resource path `/<app>/<name>` (e.g. `/live/cam1`): no query, no extension,
 *   the same for every protocol, so one token opens the stream over RTMP, HTTP-FLV, HLS, ... The server
 *   checks against that path, not the literal request path.
 * - `expires` is a Unix time in seconds (decimal, no leading zeros); the URL is valid while now < expires.
 * - `ip` is the normalised client address (IPv4-mapped IPv6 becomes IPv4).
 * Paths cannot contain control characters and expiries are digits only, so the string is unambiguous.
 *
 * The query carries `expires=<seconds>&token=<base64url HMAC, 43 chars>`.
 */
export const EXPIRES_PARAM = 'expires';
export const TOKEN_PARAM = 'token';

const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;
/** digits only, canonical (no leading zeros), at most 12 digits (year ~33000) */
const EXPIRES_RE = /^(0|[1-9][0-9]{0,11})$/;
const CONTROL_RE = /[\u0000-\u001f\u007f]/;

export interface SignOptions {
  secret: string;
  /** resource path, `/<app>/<name>` */
  path: string;
  /** Unix time, seconds */
  expires: number;
  /** bind the token to this client address */
  ip?: string;
}

export type VerifyFailure = 'missing' | 'malformed' | 'expired' | 'bad-signature';
export type VerifyResult = { ok: true } | { ok: false; reason: VerifyFailure };

export interface VerifyOptions {
  /** accepted secrets: the current one first, then previous ones still honoured during rotation */
  secrets: readonly string[];
  /** resource path, `/<app>/<name>` */
  path: string;
  /** raw `expires` query value */
  expires: string | undefined;
  /** raw `token` query value */
  token: string | undefined;
  /** client address as the socket reports it */
  ip?: string;
  /** require tokens bound to the client's address */
  bindIp: boolean;
  /** current time, ms */
  now: number;
}

function isValidPath(path: string): boolean {
  return path.startsWith('/') && !CONTROL_RE.test(path) && !path.includes('?') && !path.includes('#');
}

function hmac(secret: string, path: string, expires: string, ip: string): string {
  return createHmac('sha256', secret).update(`${path}\n${expires}\n${ip}`).digest('base64url');
}

/** The token (base64url HMAC-SHA256) for a path, expiry and optional client IP. Throws on bad input. */
export function signPath({ secret, path, expires, ip }: SignOptions): string {
  if (!secret) throw new Error('signing secret is empty');
  if (!isValidPath(path)) {
    throw new Error(`cannot sign path ${JSON.stringify(path)}: it must start with "/" and have no query`);
  }
  if (!Number.isSafeInteger(expires) || expires < 0 || !EXPIRES_RE.test(String(expires))) {
    throw new Error(`expires must be a Unix time in whole seconds, got ${expires}`);
  }
  let boundIp = '';
  if (ip !== undefined) {
    const n = normaliseIp(ip);
    if (n === undefined) throw new Error(`cannot bind to ${JSON.stringify(ip)}: not an IP address`);
    boundIp = n;
  }
  return hmac(secret, path, String(expires), boundIp);
}

/**
 * `path` (which may already carry a query) with `expires` and `token` appended. The signed path is the part
 * before `?`; `resource` overrides it when the URL path is not the stream's `/<app>/<name>`.
 */
export function signUrl(opts: SignOptions & { resource?: string }): string {
  const q = opts.path.indexOf('?');
  const base = q >= 0 ? opts.path.slice(0, q) : opts.path;
  const query = q >= 0 ? opts.path.slice(q + 1) : '';
  if (opts.path.includes('#')) throw new Error('cannot sign a URL with a fragment');
  const existing = new URLSearchParams(query);
  if (existing.has(EXPIRES_PARAM) || existing.has(TOKEN_PARAM)) {
    throw new Error(`URL already has "${EXPIRES_PARAM}" or "${TOKEN_PARAM}"`);
  }
  const token = signPath({
    secret: opts.secret,
    path: opts.resource ?? base,
    expires: opts.expires,
    ip: opts.ip,
  });
  const sep = q < 0 ? '?' : query === '' || query.endsWith('&') ? '' : '&';
  return `${opts.path}${sep}${EXPIRES_PARAM}=${opts.expires}&${TOKEN_PARAM}=${token}`;
}

function safeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Checks a signed request. With `bindIp`, only tokens bound to the client's address are accepted; without it,
 * unbound tokens are accepted, and so are tokens bound to the client's own address (a bound token still only
 * works from that address). The token is compared in constant time against every secret.
 */
export function verifySignedRequest(opts: VerifyOptions): VerifyResult {
  const { expires, token } = opts;
  if (expires === undefined || token === undefined || expires === '' || token === '') {
    return { ok: false, reason: 'missing' };
  }
  if (!EXPIRES_RE.test(expires) || !TOKEN_RE.test(token) || !isValidPath(opts.path)) {
    return { ok: false, reason: 'malformed' };
  }
  const clientIp = opts.ip === undefined ? undefined : normaliseIp(opts.ip);
  const candidates: string[] = [];
  if (!opts.bindIp) candidates.push('');
  if (clientIp !== undefined) candidates.push(clientIp);
  let match = false;
  for (const secret of opts.secrets) {
    if (!secret) continue;
    for (const ip of candidates) {
      // no early exit: the time taken does not depend on which secret matched
      if (safeEqual(hmac(secret, opts.path, expires, ip), token)) match = true;
    }
  }
  if (!match) return { ok: false, reason: 'bad-signature' };
  if (opts.now >= Number(expires) * 1000) return { ok: false, reason: 'expired' };
  return { ok: true };
}
