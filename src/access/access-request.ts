import { IpRules } from './ip-rules.js';
import { EXPIRES_PARAM, TOKEN_PARAM, type VerifyFailure, verifySignedRequest } from './signed-url.js';
import type { StreamKeyStore } from './stream-keys.js';

/**
 * The protocol-neutral access request and the local decision on it. Every listener (RTMP connect/publish/play,
 * HTTP-FLV, WS-FLV, HLS, DASH, the API) describes what a client asks for as an AccessRequest; `decideLocal`
 * answers from the app's policy alone, or says a webhook must be asked.
 */
export type AccessAction = 'publish' | 'play';
export type AccessProtocol = 'rtmp' | 'rtmps' | 'http-flv' | 'ws-flv' | 'hls' | 'dash' | 'api';
export type AccessMode = 'open' | 'deny' | 'key' | 'signed' | 'webhook';

export interface AccessRequest {
  action: AccessAction;
  protocol: AccessProtocol;
  app: string;
  /** stream name as the client gave it (without query or extension) */
  name: string;
  /** the client's query: `?key=` (key mode), `?expires=&token=` (signed mode), anything for a webhook */
  query: URLSearchParams;
  /** client address as the socket reports it (IPv4-mapped IPv6 is fine) */
  ip: string;
  /** resource path signed URLs are checked against: `resourcePath(app, name)` for every protocol */
  path: string;
}

export interface AccessPolicy {
  mode: AccessMode;
  /** when non-empty, only these addresses/CIDRs */
  ipAllow?: readonly string[];
  /** never these addresses/CIDRs; wins over ipAllow */
  ipDeny?: readonly string[];
  /** precompiled ipAllow/ipDeny (see compileAccessPolicy); when present the lists are not re-parsed */
  ipRules?: IpRules;
}

export interface AccessContext {
  /** needed by `key` mode */
  keys?: StreamKeyStore;
  /** signing secrets, current first; needed by `signed` mode */
  secrets: readonly string[];
  /** signed URLs must be bound to the client's address */
  bindIp: boolean;
}

export type AccessDenyReason =
  | 'denied'
  | 'ip-denied'
  | 'ip-not-allowed'
  | 'bad-key'
  | 'banned-key'
  | 'key-stream-mismatch'
  | 'missing-signature'
  | 'malformed-signature'
  | 'expired-signature'
  | 'bad-signature'
  | 'not-configured';

export type AccessDecision =
  | { kind: 'allow'; name: string }
  | { kind: 'deny'; reason: AccessDenyReason }
  | { kind: 'webhook' };

export const KEY_PARAM = 'key';

const SIGNED_REASONS: Record<VerifyFailure, AccessDenyReason> = {
  missing: 'missing-signature',
  malformed: 'malformed-signature',
  expired: 'expired-signature',
  'bad-signature': 'bad-signature',
};

/** `/<app>/<name>`: the path signed URLs are made for and checked against, whatever the protocol. */
export function resourcePath(app: string, name: string): string {
  return `/${app}/${name}`;
}

/** The policy with its IP lists parsed once (throws naming a bad entry), for use on every request. */
export function compileAccessPolicy(policy: AccessPolicy): AccessPolicy {
  return { ...policy, ipRules: new IpRules({ allow: policy.ipAllow, deny: policy.ipDeny }) };
}

function deny(reason: AccessDenyReason): AccessDecision {
  return { kind: 'deny', reason };
}

/**
 * Key mode: the key is `?key=` when present, else the stream name (OBS-style). A key grants one stream name
 * (see StreamKeyStore): given as the name, the request is allowed under the granted name, which may differ;
 * given as `?key=`, the requested name must be the granted one.
 */
function decideKey(req: AccessRequest, ctx: AccessContext): AccessDecision {
  if (!ctx.keys) return deny('not-configured');
  const fromQuery = req.query.has(KEY_PARAM);
  const presented = fromQuery ? (req.query.get(KEY_PARAM) ?? '') : req.name;
  const found = ctx.keys.lookup(req.app, presented);
  if (!found.ok) return deny(found.reason);
  if (fromQuery && found.stream !== req.name) return deny('key-stream-mismatch');
  return { kind: 'allow', name: found.stream };
}

/** IP rules first, then the mode. `now` is the current time in ms (for signed URL expiry). */
export function decideLocal(
  req: AccessRequest,
  policy: AccessPolicy,
  ctx: AccessContext,
  now: number,
): AccessDecision {
  const rules = policy.ipRules ?? new IpRules({ allow: policy.ipAllow, deny: policy.ipDeny });
  const ip = rules.check(req.ip);
  if (!ip.ok) return deny(ip.reason);
  switch (policy.mode) {
    case 'open':
      return { kind: 'allow', name: req.name };
    case 'deny':
      return deny('denied');
    case 'webhook':
      return { kind: 'webhook' };
    case 'key':
      return decideKey(req, ctx);
    case 'signed': {
      if (!ctx.secrets.some((s) => s !== '')) return deny('not-configured');
      const r = verifySignedRequest({
        secrets: ctx.secrets,
        path: req.path,
        expires: req.query.get(EXPIRES_PARAM) ?? undefined,
        token: req.query.get(TOKEN_PARAM) ?? undefined,
        ip: req.ip,
        bindIp: ctx.bindIp,
        now,
      });
      return r.ok ? { kind: 'allow', name: req.name } : deny(SIGNED_REASONS[r.reason]);
    }
    default: {
      // unreachable for validated config; an unknown mode from elsewhere fails closed
      const unknown: never = policy.mode;
      void unknown;
      return deny('not-configured');
    }
  }
}
