import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestTarget } from './request-target.js';

/**
 * One request and its single, complete response, independent of who read it: node:http (nodeExchange) or the
 * media fast path (fast-path.ts). Routes that answer with whole bodies (HLS playlists, segments, parts) take
 * this, so both front ends serve them with the same code.
 */
export interface HttpExchange {
  /** GET or HEAD (other methods never reach exchange-based routes) */
  readonly method: string;
  readonly target: RequestTarget;
  /** the client's address */
  readonly ip: string;
  /** a request field by lower-case name */
  header(name: string): string | undefined;
  /**
   * Sends the whole response. `body` is the entity even for HEAD (it sets Content-Length when the headers do
   * not; it is not sent for HEAD, 204 or 304). Later calls are ignored.
   */
  respond(status: number, headers: ResponseHeaders | readonly string[], body?: Buffer | string): void;
  /** `cb` runs once if the client goes away before the response was sent */
  onAbort(cb: () => void): void;
  /** the client went away, or the response was sent */
  readonly finished: boolean;
}

/**
 * Response fields as a flat [name, value, ...] list, with its wire form made once and kept: the same object is
 * reused for every response of a cached playlist or segment.
 */
export class ResponseHeaders {
  private wire: string | undefined;
  readonly hasContentLength: boolean;

  constructor(readonly flat: readonly string[]) {
    let has = false;
    for (let i = 0; i < flat.length; i += 2) {
      if (flat[i].toLowerCase() === 'content-length') has = true;
    }
    this.hasContentLength = has;
  }

  /** "Name: value\r\n" lines; throws on a CR, LF or NUL in a name or value (header injection) */
  get raw(): string {
    if (this.wire === undefined) this.wire = serializeFields(this.flat);
    return this.wire;
  }
}

export function serializeFields(flat: readonly string[]): string {
  let out = '';
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const name = flat[i];
    const value = flat[i + 1];
    if (/[\r\n\0:]/.test(name) || /[\r\n\0]/.test(value)) throw new Error(`invalid response field ${name}`);
    out += `${name}: ${value}\r\n`;
  }
  return out;
}

export function asResponseHeaders(h: ResponseHeaders | readonly string[]): ResponseHeaders {
  return h instanceof ResponseHeaders ? h : new ResponseHeaders(h);
}

export function hasBody(method: string, status: number): boolean {
  return method !== 'HEAD' && status !== 204 && status !== 304 && status >= 200;
}

/** The exchange for a node:http request. */
export function nodeExchange(req: IncomingMessage, res: ServerResponse, target: RequestTarget): HttpExchange {
  return {
    method: req.method ?? 'GET',
    target,
    ip: req.socket.remoteAddress ?? '',
    header(name) {
      const v = req.headers[name];
      return Array.isArray(v) ? v.join(', ') : v;
    },
    respond(status, headers, body) {
      if (res.headersSent || res.destroyed) return;
      const h = asResponseHeaders(headers);
      const fields = [...h.flat];
      if (!h.hasContentLength && status !== 204 && status !== 304) {
        fields.push('Content-Length', String(body === undefined ? 0 : Buffer.byteLength(body)));
      }
      res.writeHead(status, fields);
      res.end(hasBody(this.method, status) ? body : undefined);
    },
    onAbort(cb) {
      res.on('close', () => {
        if (!res.writableFinished) cb();
      });
    },
    get finished() {
      return res.headersSent || res.destroyed;
    },
  };
}
