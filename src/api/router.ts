import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestTarget } from '../servers/http/request-target.js';

/** Stable error codes of the API; every error body is `{ "error": { "code", "message" } }`. */
export type ApiErrorCode =
  | 'API_BAD_REQUEST'
  | 'API_UNAUTHORIZED'
  | 'API_NOT_FOUND'
  | 'API_METHOD_NOT_ALLOWED'
  | 'API_STREAM_NOT_FOUND'
  | 'API_SESSION_NOT_FOUND'
  | 'API_KEY_NOT_BANNED'
  | 'API_INTERNAL';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export type Method = 'GET' | 'POST' | 'DELETE';

/** A JSON answer, or nothing when the handler wrote the response itself (SSE, metrics). */
export type Reply = { status: number; body?: unknown } | undefined;

export interface Call {
  req: IncomingMessage;
  res: ServerResponse;
  url: RequestTarget;
  /** path parameters, percent-decoded */
  params: Record<string, string>;
}

export type Handler<C> = (ctx: C, call: Call) => Reply | Promise<Reply>;

export interface Route<C> {
  method: Method;
  /** OpenAPI path template, e.g. `/api/v1/streams/{app}/{name}` */
  path: string;
  /** compiled from `path`: each `{param}` is one path segment */
  pattern: RegExp;
  params: string[];
  /** `api`: always the bearer token; `metrics`: only with `metrics.requireToken` */
  auth: 'api' | 'metrics';
  handler: Handler<C>;
}

export function route<C>(
  method: Method,
  path: string,
  handler: Handler<C>,
  auth: Route<C>['auth'] = 'api',
): Route<C> {
  const params: string[] = [];
  const source = path
    .split(/(\{[A-Za-z]+\})/)
    .map((part) => {
      const p = /^\{([A-Za-z]+)\}$/.exec(part);
      if (!p) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      params.push(p[1]);
      return '([^/]+)';
    })
    .join('');
  return { method, path, pattern: new RegExp(`^${source}$`), params, auth, handler };
}

export type Match<C> =
  | { kind: 'route'; route: Route<C>; params: Record<string, string> }
  | { kind: 'method'; allow: Method[] }
  | { kind: 'none' };

/** The route for this method and path; `method` when the path exists with other methods (405). */
export function matchRoute<C>(routes: readonly Route<C>[], method: string, pathname: string): Match<C> {
  const allow: Method[] = [];
  for (const r of routes) {
    const m = r.pattern.exec(pathname);
    if (!m) continue;
    if (r.method !== method) {
      allow.push(r.method);
      continue;
    }
    const params: Record<string, string> = {};
    for (let i = 0; i < r.params.length; i++) {
      try {
        params[r.params[i]] = decodeURIComponent(m[i + 1]);
      } catch {
        throw new ApiError(400, 'API_BAD_REQUEST', `bad percent-encoding in ${r.params[i]}`);
      }
    }
    return { kind: 'route', route: r, params };
  }
  return allow.length > 0 ? { kind: 'method', allow } : { kind: 'none' };
}

const JSON_HEADERS = { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' };

export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  if (status === 204 || body === undefined) {
    res.writeHead(status, { 'Cache-Control': 'no-store', ...headers }).end();
    return;
  }
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { ...JSON_HEADERS, 'Content-Length': Buffer.byteLength(text), ...headers }).end(text);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, { error: { code: err.code, message: err.message } }, err.headers);
}
