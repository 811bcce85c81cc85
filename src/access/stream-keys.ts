import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isValidStreamName } from '../servers/names.js';

/**
 * Static stream keys. Each entry grants one stream name: `stream` when given (the key stays secret, OBS-style
 * "stream key" publishing to `rtmp://host/<app>` with the key as the name), otherwise the key itself is the
 * name. `app` limits an entry to one application; an app-specific entry wins over an unscoped one.
 *
 * Keys file: either a JSON array of entries (`{ "key": ..., "stream"?: ..., "app"?: ... }` or plain key
 * strings), or text with one entry per line, `key` or `key stream-name`; `#` starts a comment (at the start
 * of a line or after whitespace) and blank lines are ignored.
 *
 * Keys are held and looked up only by their SHA-256 digest: the Map lookup compares digests, which an
 * attacker cannot steer byte by byte, so lookup time leaks nothing useful about stored keys.
 */
export interface StreamKeyEntry {
  key: string;
  /** the name the holder may use; defaults to the key */
  stream?: string;
  /** only valid in this application */
  app?: string;
}

export interface StreamKeyStoreOptions {
  /** entries from the config, always present */
  keys?: readonly StreamKeyEntry[];
  /** keys file, read now and on every reload() */
  file?: string;
}

export type KeyLookup = { ok: true; stream: string } | { ok: false; reason: 'bad-key' | 'banned-key' };

export const MAX_KEY_LENGTH = 256;
const APP_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const BAD_KEY_CHAR = /[\s\u0000-\u001f\u007f]/;

interface Stored {
  stream: string;
  app: string | undefined;
}

function digest(key: string): string {
  return createHash('sha256').update(key).digest('base64');
}

/** Why an entry is invalid, or undefined when it is fine. */
export function streamKeyEntryProblem(e: StreamKeyEntry): string | undefined {
  if (typeof e.key !== 'string' || e.key === '') return 'key is empty';
  if (e.key.length > MAX_KEY_LENGTH) return `key is longer than ${MAX_KEY_LENGTH} characters`;
  if (BAD_KEY_CHAR.test(e.key)) return 'key contains whitespace or control characters';
  if (e.key.startsWith('#')) return 'key starts with "#"';
  if (e.stream !== undefined && (typeof e.stream !== 'string' || !isValidStreamName(e.stream))) {
    return `stream ${JSON.stringify(e.stream)} is not a valid stream name`;
  }
  if (e.stream === undefined && !isValidStreamName(e.key)) {
    return 'key is not a valid stream name, so it needs an explicit stream';
  }
  if (e.app !== undefined && (typeof e.app !== 'string' || !APP_RE.test(e.app))) {
    return `app ${JSON.stringify(e.app)} is not a valid app name`;
  }
  return undefined;
}

function parseJsonKeys(text: string, source: string): StreamKeyEntry[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new Error(`${source}: invalid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new Error(`${source}: expected a JSON array of keys`);
  return data.map((item: unknown, i): StreamKeyEntry => {
    if (typeof item === 'string') return { key: item };
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      throw new Error(`${source}: entry ${i}: expected a string or an object with "key"`);
    }
    const extra = Object.keys(item).filter((k) => k !== 'key' && k !== 'stream' && k !== 'app');
    if (extra.length > 0) throw new Error(`${source}: entry ${i}: unknown field "${extra[0]}"`);
    const { key, stream, app } = item as Record<string, unknown>;
    for (const [name, v] of [
      ['key', key],
      ['stream', stream],
      ['app', app],
    ] as const) {
      if (v !== undefined && typeof v !== 'string')
        throw new Error(`${source}: entry ${i}: ${name} must be a string`);
    }
    return { key: key as string, stream: stream as string | undefined, app: app as string | undefined };
  });
}

function parseTextKeys(text: string, source: string): Array<StreamKeyEntry & { line: number }> {
  const out: Array<StreamKeyEntry & { line: number }> = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const fields = raw
      .replace(/(^|\s)#.*$/, '')
      .trim()
      .split(/\s+/)
      .filter(Boolean);
    if (fields.length === 0) return;
    if (fields.length > 2) throw new Error(`${source}:${i + 1}: expected "key" or "key stream-name"`);
    out.push({ key: fields[0], stream: fields[1], line: i + 1 });
  });
  return out;
}

/**
 * Entries of a keys file's text (JSON array when it starts with `[`, else lines). Throws naming the source and
 * the line or entry at fault.
 */
export function parseKeyFile(text: string, source: string): StreamKeyEntry[] {
  const body = text.replace(/^\uFEFF/, '');
  if (body.trimStart().startsWith('[')) {
    return parseJsonKeys(body, source).map((e, i) => {
      const problem = streamKeyEntryProblem(e);
      if (problem) throw new Error(`${source}: entry ${i}: ${problem}`);
      return e;
    });
  }
  return parseTextKeys(body, source).map(({ line, ...e }) => {
    const problem = streamKeyEntryProblem(e);
    if (problem) throw new Error(`${source}:${line}: ${problem}`);
    return e;
  });
}

export class StreamKeyStore {
  private readonly staticKeys: readonly StreamKeyEntry[];
  private readonly file: string | undefined;
  private byDigest = new Map<string, Stored[]>();
  private count = 0;
  private readonly banned = new Set<string>();

  /** Validates the entries and reads the file; throws a message naming the bad entry. */
  constructor({ keys = [], file }: StreamKeyStoreOptions = {}) {
    keys.forEach((e, i) => {
      const problem = streamKeyEntryProblem(e);
      if (problem) throw new Error(`stream key ${i}: ${problem}`);
    });
    this.staticKeys = keys.map((e) => ({ ...e }));
    this.file = file;
    this.reload();
  }

  /** Number of entries in force. */
  get size(): number {
    return this.count;
  }

  /**
   * Re-reads the keys file (if any) and replaces the set; returns the number of entries now in force (config
   * entries plus file entries). On any error it throws and the previous set stays in force. Bans are kept.
   */
  reload(): number {
    let fileKeys: StreamKeyEntry[] = [];
    if (this.file !== undefined) {
      let text: string;
      try {
        text = readFileSync(this.file, 'utf8');
      } catch (err) {
        throw new Error(`cannot read keys file ${this.file}: ${(err as Error).message}`);
      }
      fileKeys = parseKeyFile(text, this.file);
    }
    const next = new Map<string, Stored[]>();
    for (const e of [...this.staticKeys, ...fileKeys]) {
      const d = digest(e.key);
      const list = next.get(d) ?? [];
      if (list.some((s) => s.app === e.app)) {
        const scope = e.app === undefined ? 'all apps' : `app "${e.app}"`;
        throw new Error(`duplicate stream key for ${scope} (stream ${e.stream ?? e.key})`);
      }
      list.push({ stream: e.stream ?? e.key, app: e.app });
      next.set(d, list);
    }
    this.byDigest = next;
    this.count = this.staticKeys.length + fileKeys.length;
    return this.count;
  }

  /** Refuse this key from now on (until unban), whatever the file says; survives reloads. */
  ban(key: string): void {
    this.banned.add(digest(key));
  }

  /** Lift a ban; true when the key was banned. */
  unban(key: string): boolean {
    return this.banned.delete(digest(key));
  }

  isBanned(key: string): boolean {
    return this.banned.has(digest(key));
  }

  /** The stream name `presentedKey` grants in `app`. */
  lookup(app: string, presentedKey: string): KeyLookup {
    if (presentedKey === '' || presentedKey.length > MAX_KEY_LENGTH) return { ok: false, reason: 'bad-key' };
    const d = digest(presentedKey);
    if (this.banned.has(d)) return { ok: false, reason: 'banned-key' };
    const list = this.byDigest.get(d);
    const hit = list?.find((s) => s.app === app) ?? list?.find((s) => s.app === undefined);
    return hit ? { ok: true, stream: hit.stream } : { ok: false, reason: 'bad-key' };
  }
}
