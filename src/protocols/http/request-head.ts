/**
 * A strict, conservative HTTP/1.1 request-head reader (RFC 9112 §2-§5), sans-I/O: bytes in, a head out.
 *
 * It serves the media fast path (servers/http/fast-path.ts), which answers bodiless GET/HEAD requests for HLS
 * files without node:http. Anything this reader does not fully understand is reported as `unsupported` and the
 * connection is handed to node:http, which applies its own (complete) rules; so this reader may refuse what is
 * valid, but must never accept what node:http would read differently (request smuggling, RFC 9112 §11.2).
 */

export interface RequestHead {
  method: string;
  /** request-target as sent (origin-form for everything we serve) */
  target: string;
  version: '1.0' | '1.1';
  /** lower-case field names; repeated fields joined with ", " (RFC 9110 §5.3) */
  headers: Map<string, string>;
  /** bytes of the head, including the empty line */
  length: number;
}

export type HeadResult =
  | { kind: 'head'; head: RequestHead }
  | { kind: 'partial' }
  | { kind: 'unsupported'; reason: string };

export const MAX_HEADER_FIELDS = 100;

const PARTIAL: HeadResult = { kind: 'partial' };

/** tchar (RFC 9110 §5.6.2) */
const TCHAR = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

/**
 * Finds the end of the head (CRLF CRLF) in `buf`, starting the search at `from` (so a caller that appends
 * chunks does not rescan). Returns the index just past the empty line, or -1.
 */
export function findHeadEnd(buf: Buffer, from: number): number {
  const i = buf.indexOf('\r\n\r\n', Math.max(0, from - 3), 'latin1');
  return i < 0 ? -1 : i + 4;
}

function unsupported(reason: string): HeadResult {
  return { kind: 'unsupported', reason };
}

/**
 * Parses the request head at the start of `buf`. `partial` while the empty line has not arrived and `buf` is
 * under `maxBytes`; `unsupported` past that, or for anything outside the strict subset read here (bare CR or
 * LF, obs-fold, whitespace before a colon, control characters, HTTP versions other than 1.0/1.1).
 */
export function parseRequestHead(buf: Buffer, maxBytes: number, searchFrom = 0): HeadResult {
  const end = findHeadEnd(buf, searchFrom);
  if (end < 0) {
    // a bare LF would end the head for a lenient reader but never for us: let node:http judge it now
    if (hasBareLf(buf, searchFrom)) return unsupported('bare-lf');
    return buf.length > maxBytes ? unsupported('head-too-large') : PARTIAL;
  }
  if (end > maxBytes) return unsupported('head-too-large');
  const text = buf.toString('latin1', 0, end - 4);
  const lines = text.split('\r\n');
  const requestLine = lines[0];
  // request-line = method SP request-target SP HTTP-version (RFC 9112 §3), single spaces only
  const sp1 = requestLine.indexOf(' ');
  const sp2 = requestLine.indexOf(' ', sp1 + 1);
  if (sp1 <= 0 || sp2 < 0 || requestLine.indexOf(' ', sp2 + 1) >= 0) return unsupported('request-line');
  const method = requestLine.slice(0, sp1);
  const target = requestLine.slice(sp1 + 1, sp2);
  const proto = requestLine.slice(sp2 + 1);
  if (!isToken(method)) return unsupported('method');
  if (target.length === 0 || !isVisible(target)) return unsupported('target');
  let version: '1.0' | '1.1';
  if (proto === 'HTTP/1.1') version = '1.1';
  else if (proto === 'HTTP/1.0') version = '1.0';
  else return unsupported('version');
  if (lines.length - 1 > MAX_HEADER_FIELDS) return unsupported('too-many-fields');
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    const colon = line.indexOf(':');
    if (colon <= 0) return unsupported('field-line'); // includes obs-fold (leading SP/HTAB)
    const name = line.slice(0, colon);
    if (!isToken(name)) return unsupported('field-name'); // includes "name :" (RFC 9112 §5.1)
    const value = trimOws(line.slice(colon + 1));
    if (!isFieldValue(value)) return unsupported('field-value');
    const key = name.toLowerCase();
    const prev = headers.get(key);
    headers.set(key, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { kind: 'head', head: { method, target, version, headers, length: end } };
}

function hasBareLf(buf: Buffer, from: number): boolean {
  for (let i = buf.indexOf(10, Math.max(0, from - 1)); i >= 0; i = buf.indexOf(10, i + 1)) {
    if (i === 0 || buf[i - 1] !== 13) return true;
  }
  return false;
}

function isToken(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!TCHAR[s.charCodeAt(i)]) return false;
  return s.length > 0;
}

/** VCHAR only: no spaces, no controls, no obs-text in a target we route */
function isVisible(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

/** field-value: VCHAR / SP / HTAB / obs-text; no CR, LF, NUL or other controls (RFC 9110 §5.5) */
function isFieldValue(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 0x20 || s.charCodeAt(a) === 0x09)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 0x20 || s.charCodeAt(b - 1) === 0x09)) b--;
  return s.slice(a, b);
}
