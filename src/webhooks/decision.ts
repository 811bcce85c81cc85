import { isValidStreamName } from '../servers/names.js';
import type { PostOutcome } from './transport.js';

/** The answer to a publish/play webhook. `name`, when set, replaces the requested stream name. */
export type WebhookDecision =
  | { kind: 'allow'; name?: string }
  | { kind: 'deny'; reason: string; status?: number };

export type TimeoutPolicy = 'deny' | 'allow';

/** Stable deny reasons produced by the client itself (a receiver's own `reason` is passed through). */
export type WebhookDenyReason =
  | 'webhook-denied'
  | 'webhook-status'
  | 'webhook-bad-response'
  | 'webhook-bad-redirect'
  | 'webhook-body-too-large'
  | 'webhook-timeout'
  | 'webhook-unreachable'
  | 'webhook-bad-url'
  | 'webhook-closed';

const REDIRECT_NAME = /^[A-Za-z0-9_.-]{1,128}$/;
const MAX_REASON_CHARS = 200;

/**
 * A redirect target must be 1-128 characters of `[A-Za-z0-9_.-]`, and also a name the server accepts
 * for a stream (no leading `.`/`-`, no `..`).
 */
export function isValidRedirectName(name: string): boolean {
  return REDIRECT_NAME.test(name) && isValidStreamName(name);
}

/**
 * Turns one POST's outcome into allow/deny. It fails closed: only a 2xx with an empty body or a JSON
 * object with `"allow": true` allows; a non-2xx status (401, 403, 500, a 3xx: redirects are not followed),
 * `"allow": false`, any other body, an oversized body or an unreachable receiver deny. A timeout follows
 * `onTimeout`.
 */
export function decide(outcome: PostOutcome, onTimeout: TimeoutPolicy): WebhookDecision {
  switch (outcome.kind) {
    case 'timeout':
      return onTimeout === 'allow' ? { kind: 'allow' } : deny('webhook-timeout');
    case 'closed':
      return deny('webhook-closed');
    case 'network':
      return deny('webhook-unreachable');
    case 'too-large':
      return deny('webhook-body-too-large', outcome.status);
    case 'response':
      return fromResponse(outcome.status, outcome.body);
  }
}

function fromResponse(status: number, body: Buffer): WebhookDecision {
  if (status < 200 || status > 299) return deny('webhook-status', status);
  const text = body.toString('utf8').trim();
  if (text === '') return { kind: 'allow' };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return deny('webhook-bad-response', status);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    return deny('webhook-bad-response', status);
  const answer = json as { allow?: unknown; reason?: unknown; name?: unknown };
  if (answer.allow === false) {
    const reason = typeof answer.reason === 'string' ? cleanReason(answer.reason) : '';
    return { kind: 'deny', reason: reason || 'webhook-denied', status };
  }
  if (answer.allow !== true) return deny('webhook-bad-response', status);
  if (answer.name === undefined || answer.name === null) return { kind: 'allow' };
  if (typeof answer.name !== 'string' || !isValidRedirectName(answer.name)) {
    return deny('webhook-bad-redirect', status);
  }
  return { kind: 'allow', name: answer.name };
}

function deny(reason: WebhookDenyReason, status?: number): WebhookDecision {
  return status === undefined ? { kind: 'deny', reason } : { kind: 'deny', reason, status };
}

/** A receiver's reason goes to logs and to the peer's status message: printable, bounded. */
function cleanReason(reason: string): string {
  return reason
    .replace(/[\u0000-\u001f\u007f]+/g, ' ')
    .trim()
    .slice(0, MAX_REASON_CHARS);
}
