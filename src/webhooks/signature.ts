import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures, Stripe-style.
 *
 * Every POST carries `X-Tidecast-Signature: t=<unix seconds>,v1=<hex>` where `<hex>` is
 * HMAC-SHA256(secret, `<t>.<raw body bytes>`) in lower-case hex. A receiver recomputes the HMAC over the
 * exact bytes it received (before any JSON parsing), compares in constant time, and rejects a `t` too far
 * from its own clock (replay protection). The header may carry several `v1=` entries (secret rotation);
 * any one that matches is enough. Retries of the same event are signed afresh with a new `t`.
 */
export const SIGNATURE_HEADER = 'X-Tidecast-Signature';
/** the event name (`publish`, `record-done`, ...) */
export const EVENT_HEADER = 'X-Tidecast-Event';
/** the event id; the same on every retry of one event */
export const DELIVERY_HEADER = 'X-Tidecast-Delivery';

/** Header value for `body` signed with `secret` at `timestamp` (unix seconds; fractions are dropped). */
export function signBody(secret: string, body: Buffer | string, timestamp: number): string {
  const t = Math.floor(timestamp);
  return `t=${t},v1=${hmacHex(secret, t, body)}`;
}

/**
 * Whether `header` is a valid signature of `body` by any of `secrets`, made within `toleranceSeconds`
 * of `now` (unix seconds). Malformed headers are simply invalid. The comparison is timing-safe.
 */
export function verifyBodySignature(
  secrets: string | readonly string[],
  body: Buffer | string,
  header: string | undefined,
  now: number,
  toleranceSeconds: number,
): boolean {
  if (!header) return false;
  const parsed = parseSignatureHeader(header);
  if (!parsed || parsed.v1.length === 0) return false;
  if (Math.abs(now - parsed.t) > toleranceSeconds) return false;
  const candidates = parsed.v1.map((hex) => Buffer.from(hex, 'hex'));
  let ok = false;
  for (const secret of typeof secrets === 'string' ? [secrets] : secrets) {
    const expected = Buffer.from(hmacHex(secret, parsed.t, body), 'hex');
    for (const candidate of candidates) {
      // every pair is compared (no early exit) so timing says nothing about which one matched
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) ok = true;
    }
  }
  return ok;
}

/** `t=...,v1=...[,v1=...]`; unknown schemes (`v0=`, ...) are ignored. */
export function parseSignatureHeader(header: string): { t: number; v1: string[] } | undefined {
  let t: number | undefined;
  const v1: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,12}$/.test(value)) return undefined;
      t = Number(value);
    } else if (key === 'v1') {
      if (!/^[0-9a-f]{64}$/i.test(value)) return undefined;
      v1.push(value.toLowerCase());
    }
  }
  return t === undefined ? undefined : { t, v1 };
}

function hmacHex(secret: string, t: number, body: Buffer | string): string {
  return createHmac('sha256', secret).update(`${t}.`).update(body).digest('hex');
}
