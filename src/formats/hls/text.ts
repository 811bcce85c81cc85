/**
 * Value formatting shared by the HLS playlist renderers (RFC 8216bis §4.2 attribute types).
 * Pure string helpers; nothing here knows about playlists.
 */

/**
 * decimal-floating-point with exactly 3 decimals (`2.000`). Rounding is monotonic, so a value <= a limit
 * never renders above the rendered limit (EXTINF vs TARGETDURATION, part DURATION vs PART-TARGET).
 */
export function dec3(x: number): string {
  return (Number.isFinite(x) && x > 0 ? x : 0).toFixed(3);
}

/** Like {@link dec3} but rounded *up* to the millisecond, for lower bounds that must hold after rendering. */
export function dec3Up(x: number): string {
  if (!Number.isFinite(x) || x <= 0) return '0.000';
  return (Math.ceil(x * 1000 - 1e-6) / 1000).toFixed(3);
}

/** decimal-integer (0 .. 2^53-1): negative, fractional or non-finite input is clamped/rounded. */
export function int(x: number): string {
  if (!Number.isFinite(x) || x <= 0) return '0';
  return String(Math.min(Math.round(x), Number.MAX_SAFE_INTEGER));
}

/**
 * Contents of a quoted-string holding a URI: a quoted-string cannot contain `"`, CR or LF (§4.2), and a
 * playlist must not contain control characters (§4.1), so those are percent-encoded.
 */
export function quotedUri(uri: string): string {
  return `"${escapeUriChars(uri)}"`;
}

/** A URI line: same escaping, plus a leading `#`, which would turn the line into a tag/comment. */
export function uriLine(uri: string): string {
  const u = escapeUriChars(uri);
  return u.startsWith('#') ? `%23${u.slice(1)}` : u;
}

/** A non-URI quoted-string (e.g. CODECS): characters that cannot appear in one are dropped. */
export function quoted(s: string): string {
  return `"${stripControls(s).replace(/"/g, '')}"`;
}

function escapeUriChars(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    out += ch === '"' || isControl(c) ? encodeURIComponent(ch) : ch;
  }
  return out;
}

function stripControls(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (!isControl(c)) out += ch;
  }
  return out;
}

function isControl(c: number): boolean {
  return c < 0x20 || (c >= 0x7f && c <= 0x9f);
}

/** EXT-X-PROGRAM-DATE-TIME value: ISO 8601 with milliseconds and `Z`; undefined for an invalid Date. */
export function isoDate(d: Date | undefined): string | undefined {
  if (!d || !Number.isFinite(d.getTime())) return undefined;
  return d.toISOString();
}
