import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { parseRequestHead, type RequestHead } from '../../protocols/http/request-head.js';
import { asResponseHeaders, type HttpExchange, hasBody, type ResponseHeaders } from './exchange.js';
import { parseRequestTarget, type RequestTarget } from './request-target.js';

/**
 * The media fast path: answers keep-alive GET/HEAD requests for HLS files straight from the socket, without
 * node:http. At thousands of playlist and part requests per second node:http's per-request objects (parser
 * callbacks, IncomingMessage, ServerResponse, header validation) cost more CPU than the response itself; here a
 * request costs one head parse and one corked write of a cached header block plus the shared body buffer.
 *
 * Only requests this path fully understands stay here: HTTP/1.1, GET or HEAD, no body (no Content-Length other
 * than 0, no Transfer-Encoding), no Upgrade or Expect, a route `accepts`. Anything else, at any request
 * boundary, hands the socket (with the bytes read so far) to node:http for the rest of its life.
 */
export interface FastPathOptions {
  /** request heads larger than this go to node:http (which answers 431) */
  maxHeadBytes: number;
  /** a request head must arrive complete within this (slow-loris) */
  headTimeoutMs: number;
  /** idle keep-alive connections are closed after this */
  keepAliveMs: number;
  /** does the fast path serve this request? */
  accepts(method: string, pathname: string): boolean;
  serve(ex: HttpExchange): void;
  /** give the socket to node:http; `pending` holds bytes read and not consumed */
  handOff(socket: Socket): void;
  onReject(reason: string): void;
  /** an idle keep-alive connection was closed */
  onIdle(): void;
}

const EMPTY = Buffer.alloc(0);

let dateSecond = -1;
let dateText = '';
/** the Date field (RFC 9110 §6.6.1), formatted at most once a second */
function httpDate(): string {
  const now = Date.now();
  const s = Math.floor(now / 1000);
  if (s !== dateSecond) {
    dateSecond = s;
    dateText = new Date(now).toUTCString();
  }
  return dateText;
}

function eligible(head: RequestHead): boolean {
  if (head.version !== '1.1' || (head.method !== 'GET' && head.method !== 'HEAD')) return false;
  const h = head.headers;
  const len = h.get('content-length');
  if (len !== undefined && len !== '0') return false;
  return !h.has('transfer-encoding') && !h.has('upgrade') && !h.has('expect');
}

export interface FastPathConnection {
  /** ends the connection unless a request is in flight (shutdown) */
  closeIfIdle(): void;
}

export function attachFastPath(socket: Socket, opts: FastPathOptions): FastPathConnection {
  return new FastConnection(socket, opts);
}

class FastConnection implements FastPathConnection {
  private pending: Buffer = EMPTY;
  private scanned = 0;
  private headSince = 0;
  private inFlight: FastExchange | undefined;
  private draining = false;
  private gone = false;
  /** responses are queued in the socket beyond its high-water mark: read no more requests until it drains */
  private waitingDrain = false;
  private headTimer: NodeJS.Timeout | undefined;

  private readonly onData = (chunk: Buffer) => {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    if (this.inFlight || this.waitingDrain) {
      // pipelined requests wait for the response in flight; bound what they may buffer
      if (this.pending.length > 2 * this.opts.maxHeadBytes) this.reject('pipeline-flood');
      return;
    }
    this.drain();
  };
  private readonly onDrain = () => {
    this.waitingDrain = false;
    this.drain();
  };
  private readonly onEnd = () => {
    if (!this.inFlight) this.socket.end();
  };
  private readonly onClose = () => {
    this.gone = true;
    clearTimeout(this.headTimer);
    this.inFlight?.abort();
  };
  private readonly onError = () => this.socket.destroy();
  private readonly onTimeout = () => {
    // a held blocking reload has its own deadline (and a partial head its own timer): the connection is idle
    if (this.inFlight || this.headSince !== 0) return;
    this.opts.onIdle();
    this.socket.destroy();
  };

  constructor(
    readonly socket: Socket,
    private readonly opts: FastPathOptions,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
    socket.setTimeout(opts.keepAliveMs, this.onTimeout);
  }

  closeIfIdle(): void {
    if (!this.inFlight && !this.gone) this.socket.end();
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (!this.inFlight && !this.gone && !this.waitingDrain && this.pending.length > 0) {
        const r = parseRequestHead(this.pending, this.opts.maxHeadBytes, this.scanned);
        if (r.kind === 'partial') {
          this.scanned = this.pending.length;
          if (this.headSince === 0) {
            // slow-loris: the whole head within headTimeoutMs, however the bytes trickle in
            this.headSince = Date.now();
            this.headTimer = setTimeout(() => this.reject('head-timeout'), this.opts.headTimeoutMs);
          }
          return;
        }
        if (r.kind === 'unsupported') return this.handOff();
        const target = eligible(r.head) ? parseRequestTarget(r.head.target) : undefined;
        if (!target || !this.opts.accepts(r.head.method, target.pathname)) return this.handOff();
        this.pending = this.pending.length === r.head.length ? EMPTY : this.pending.subarray(r.head.length);
        this.scanned = 0;
        this.headSince = 0;
        clearTimeout(this.headTimer);
        const ex = new FastExchange(this, r.head, target);
        this.inFlight = ex;
        this.opts.serve(ex);
      }
    } finally {
      this.draining = false;
    }
  }

  /** called by the exchange once its response is written */
  done(ex: FastExchange, close: boolean): void {
    if (this.inFlight !== ex) return;
    this.inFlight = undefined;
    if (close || this.socket.readableEnded) {
      this.socket.end();
      return;
    }
    // a client that pipelines and does not read: answer no more of its requests until it takes our answers
    // (what it may send meanwhile is bounded by the pipeline-flood limit in onData). Not pausing the socket
    // keeps this to one listener for the common case, a single large segment still being written.
    if (this.socket.writableNeedDrain) {
      this.waitingDrain = true;
      this.socket.once('drain', this.onDrain);
      return;
    }
    this.drain();
  }

  private reject(reason: string): void {
    if (this.gone) return;
    this.opts.onReject(reason);
    this.gone = true;
    clearTimeout(this.headTimer);
    const status = reason === 'head-timeout' ? 408 : 400;
    this.socket.end(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
    this.socket.destroySoon();
  }

  private handOff(): void {
    const s = this.socket;
    this.gone = true;
    s.off('data', this.onData);
    s.off('end', this.onEnd);
    s.off('close', this.onClose);
    s.off('error', this.onError);
    s.setTimeout(0);
    s.off('timeout', this.onTimeout);
    s.off('drain', this.onDrain);
    clearTimeout(this.headTimer);
    s.pause();
    if (this.pending.length > 0) s.unshift(this.pending);
    this.pending = EMPTY;
    this.opts.handOff(s);
    s.resume();
  }
}

class FastExchange implements HttpExchange {
  readonly method: string;
  readonly ip: string;
  private readonly aborters: (() => void)[] = [];
  private sent = false;
  private abortedFlag = false;

  constructor(
    private readonly conn: FastConnection,
    private readonly head: RequestHead,
    readonly target: RequestTarget,
  ) {
    this.method = head.method;
    this.ip = conn.socket.remoteAddress ?? '';
  }

  header(name: string): string | undefined {
    return this.head.headers.get(name);
  }

  get finished(): boolean {
    return this.sent || this.abortedFlag;
  }

  onAbort(cb: () => void): void {
    if (this.abortedFlag) return cb();
    this.aborters.push(cb);
  }

  abort(): void {
    if (this.finished) return;
    this.abortedFlag = true;
    for (const cb of this.aborters) cb();
  }

  respond(status: number, headers: ResponseHeaders | readonly string[], body?: Buffer | string): void {
    if (this.finished) return;
    this.sent = true;
    const h = asResponseHeaders(headers);
    const close = /\bclose\b/i.test(this.head.headers.get('connection') ?? '');
    let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\nDate: ${httpDate()}\r\n`;
    head += close ? 'Connection: close\r\n' : 'Connection: keep-alive\r\n';
    head += h.raw;
    if (!h.hasContentLength && status !== 204 && status !== 304) {
      head += `Content-Length: ${body === undefined ? 0 : Buffer.byteLength(body)}\r\n`;
    }
    head += '\r\n';
    const s = this.conn.socket;
    if (body !== undefined && hasBody(this.method, status)) {
      s.cork();
      s.write(head, 'latin1');
      s.write(body);
      s.uncork();
    } else {
      s.write(head, 'latin1');
    }
    this.conn.done(this, close);
  }
}
