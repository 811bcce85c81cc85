/**
 * The HLS benchmark's HTTP client: one keep-alive HTTP/1.1 connection per simulated player, one request in
 * flight at a time (like a browser player's single connection to the origin; no pipelining). A minimal
 * parser reads the status line and Content-Length or chunked framing; media bodies are counted and never
 * copied, playlist bodies are kept. Sockets use `onread` with one buffer shared by every connection of the
 * process, so a read allocates nothing (the same trick as bench/player.ts). node:http would cost the load
 * generator several times more CPU per request on a 2-core machine shared with the server under test.
 *
 * By default requests carry no Accept-Encoding, so neither server compresses playlists; with `gzip` they send
 * `Accept-Encoding: gzip` as browsers do (the caller inflates the body).
 */
import { connect, type Socket } from 'node:net';
import { nowMs } from './stats.js';

export interface HttpResult {
  /** HTTP status; 0 when the request failed (see error) */
  status: number;
  error?: 'timeout' | 'closed' | 'connect' | 'protocol';
  /** the body, when asked for (playlists) */
  body?: Buffer;
  /** body bytes */
  bytes: number;
  /** nowMs() just before the request was written */
  sentAt: number;
  /** when the response head was parsed (time to first byte) */
  headAt: number;
  /** when the last body byte arrived (or the failure) */
  doneAt: number;
  /** whether the request went out on a new connection */
  fresh: boolean;
  /** Content-Encoding: gzip */
  gzip: boolean;
}

/** Process-wide socket counters, reset by the owner at the start of the measured window. */
export const net = { bytes: 0, reads: 0, connects: 0 };

const shared = Buffer.allocUnsafe(256 * 1024);
const HEAD_END = Buffer.from('\r\n\r\n');

type State = 'idle' | 'head' | 'length' | 'chunk-size' | 'chunk-data' | 'chunk-crlf' | 'chunk-end';

interface Pending {
  keepBody: boolean;
  cb: (r: HttpResult) => void;
  result: HttpResult;
  parts: Buffer[] | undefined;
  close: boolean;
}

export class HttpConn {
  private socket: Socket | undefined;
  private connected = false;
  private pending: Pending | undefined;
  private state: State = 'idle';
  /** unparsed head bytes or a partial chunk-size line (copied out of the shared buffer) */
  private carry: Buffer | undefined;
  private left = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly timeoutMs: number,
    private readonly gzip = false,
  ) {}

  get busy(): boolean {
    return this.pending !== undefined;
  }

  /** GET path; cb is called exactly once. One request at a time. */
  get(path: string, keepBody: boolean, cb: (r: HttpResult) => void): void {
    if (this.pending) throw new Error('HttpConn: request already in flight');
    if (this.closed) return;
    const fresh = !this.socket;
    const result: HttpResult = {
      status: 0,
      bytes: 0,
      sentAt: nowMs(),
      headAt: 0,
      doneAt: 0,
      fresh,
      gzip: false,
    };
    this.pending = { keepBody, cb, result, parts: keepBody ? [] : undefined, close: false };
    this.state = 'head';
    this.carry = undefined;
    this.timer = setTimeout(() => this.fail('timeout'), this.timeoutMs);
    const req = `GET ${path} HTTP/1.1\r\nHost: ${this.host}:${this.port}\r\nUser-Agent: tidecast-hls-bench\r\nAccept: */*\r\n${this.gzip ? 'Accept-Encoding: gzip\r\n' : ''}\r\n`;
    if (!this.socket) this.open();
    if (this.connected) this.socket!.write(req, 'latin1');
    else this.socket!.once('connect', () => this.socket?.write(req, 'latin1'));
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.destroy();
    this.socket = undefined;
  }

  private open(): void {
    net.connects++;
    this.connected = false;
    const s = connect({
      host: this.host,
      port: this.port,
      noDelay: true,
      onread: { buffer: shared, callback: (n: number, buf: Uint8Array) => this.onData(n, buf as Buffer) },
    });
    this.socket = s;
    s.once('connect', () => {
      if (this.socket === s) this.connected = true;
    });
    s.on('error', () => {});
    s.on('close', () => {
      if (this.socket !== s) return;
      this.socket = undefined;
      this.connected = false;
      if (this.pending)
        this.fail(this.pending.result.headAt || !this.pending.result.fresh ? 'closed' : 'connect');
    });
  }

  /** The request failed: the connection is dropped (its framing is lost) and the next request reconnects. */
  private fail(error: NonNullable<HttpResult['error']>): void {
    const p = this.pending;
    if (!p) return;
    this.pending = undefined;
    clearTimeout(this.timer);
    const s = this.socket;
    this.socket = undefined;
    this.connected = false;
    s?.destroy();
    this.state = 'idle';
    p.result.error = error;
    p.result.status = 0;
    p.result.doneAt = nowMs();
    p.cb(p.result);
  }

  private onData(n: number, buf: Buffer): boolean {
    net.bytes += n;
    net.reads++;
    let data = buf.subarray(0, n);
    while (data.length > 0 && this.pending) {
      const used = this.consume(data);
      if (used < 0) return true;
      data = data.subarray(used);
    }
    if (data.length > 0 && !this.pending) this.socket?.destroy(); // bytes after the response: not HTTP we know
    return true;
  }

  /** Consumes a prefix of data; returns the bytes used, -1 when it failed or stashed everything. */
  private consume(data: Buffer): number {
    const p = this.pending!;
    switch (this.state) {
      case 'head': {
        const all = this.carry ? Buffer.concat([this.carry, data]) : data;
        const end = all.indexOf(HEAD_END);
        if (end < 0) {
          if (all.length > 16 * 1024) this.fail('protocol');
          else this.carry = Buffer.from(all); // copy: data is the shared buffer
          return -1;
        }
        const carried = this.carry ? this.carry.length : 0;
        this.carry = undefined;
        const head = all.toString('latin1', 0, end);
        const status = Number(head.slice(9, 12));
        if (!head.startsWith('HTTP/1.') || !(status >= 100)) {
          this.fail('protocol');
          return -1;
        }
        p.result.status = status;
        p.result.headAt = nowMs();
        const lower = head.toLowerCase();
        p.close = /\r\nconnection:\s*close/.test(lower);
        p.result.gzip = /\r\ncontent-encoding:\s*gzip/.test(lower);
        const chunked = /\r\ntransfer-encoding:[^\r]*chunked/.test(lower);
        const len = /\r\ncontent-length:\s*(\d+)/.exec(lower);
        if (status === 204 || status === 304) this.finish();
        else if (chunked) this.state = 'chunk-size';
        else if (len) {
          this.left = Number(len[1]);
          this.state = 'length';
          if (this.left === 0) this.finish();
        } else {
          this.fail('protocol'); // read-until-close bodies: not produced by either server
          return -1;
        }
        return end + 4 - carried;
      }
      case 'length':
      case 'chunk-data': {
        const take = Math.min(this.left, data.length);
        this.body(data.subarray(0, take));
        this.left -= take;
        if (this.left === 0) {
          if (this.state === 'length') this.finish();
          else this.state = 'chunk-crlf';
        }
        return take;
      }
      case 'chunk-size':
      case 'chunk-crlf':
      case 'chunk-end': {
        const all = this.carry ? Buffer.concat([this.carry, data]) : data;
        const eol = all.indexOf('\r\n');
        if (eol < 0) {
          if (all.length > 1024) this.fail('protocol');
          else this.carry = Buffer.from(all);
          return -1;
        }
        const carried = this.carry ? this.carry.length : 0;
        this.carry = undefined;
        if (this.state === 'chunk-size') {
          const size = Number.parseInt(all.toString('latin1', 0, eol), 16);
          if (!Number.isFinite(size)) {
            this.fail('protocol');
            return -1;
          }
          if (size === 0) this.state = 'chunk-end';
          else {
            this.left = size;
            this.state = 'chunk-data';
          }
        } else if (this.state === 'chunk-crlf') this.state = 'chunk-size';
        else if (eol === 0) this.finish(); // the empty line after the last chunk (trailers are skipped)
        return eol + 2 - carried;
      }
      default:
        return data.length;
    }
  }

  private body(b: Buffer): void {
    const p = this.pending!;
    p.result.bytes += b.length;
    if (p.parts) p.parts.push(Buffer.from(b));
  }

  private finish(): void {
    const p = this.pending!;
    this.pending = undefined;
    this.state = 'idle';
    clearTimeout(this.timer);
    p.result.doneAt = nowMs();
    if (p.parts) p.result.body = p.parts.length === 1 ? p.parts[0] : Buffer.concat(p.parts);
    if (p.close) {
      const s = this.socket;
      this.socket = undefined;
      this.connected = false;
      s?.destroy();
    }
    p.cb(p.result);
  }
}
