import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** Shortest token accepted from a token file (the config schema asks the same of `api.token`). */
export const MIN_TOKEN_LENGTH = 16;

export interface TokenSource {
  token: string;
  /** where it came from */
  from: 'config' | 'file' | 'generated';
  /** the token file, unless it came from the config */
  file?: string;
  /** a token file readable by group or others */
  looseMode?: boolean;
}

/** 32 random bytes, base64url (43 characters). */
export function generateToken(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * The API bearer token: `configured` when set; else the one kept in `file`; else a new one written there
 * (directories made as needed, mode 0600; `wx`, so two servers starting at once agree on one token).
 * Throws when the file holds something that is not a usable token.
 */
export function resolveToken(configured: string | undefined, file: string): TokenSource {
  if (configured !== undefined) return { token: configured, from: 'config' };
  const existing = readTokenFile(file);
  if (existing !== undefined) return existing;
  const token = generateToken();
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const raced = readTokenFile(file);
    if (raced) return raced;
    throw err;
  }
  return { token, from: 'generated', file };
}

function readTokenFile(file: string): TokenSource | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read API token file ${file}: ${(err as Error).message}`);
  }
  const token = text.trim();
  if (token === '') throw new Error(`API token file ${file} is empty (delete it to have a new token made)`);
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw new Error(
      `API token file ${file} must hold one token of at least ${MIN_TOKEN_LENGTH} characters, no whitespace`,
    );
  }
  const looseMode = process.platform !== 'win32' && (statSync(file).mode & 0o077) !== 0;
  return { token, from: 'file', file, looseMode };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Constant-time comparison (over digests, so the length of the secret does not show either). */
export function tokensEqual(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), digest(expected));
}

/** The token of an `Authorization: Bearer <token>` header, or undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const m = /^Bearer[ \t]+([^\s]+)[ \t]*$/i.exec(header);
  return m?.[1];
}
