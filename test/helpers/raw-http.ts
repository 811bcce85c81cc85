import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/**
 * A raw TCP connection to an HTTP server, for tests that need exact bytes on the wire (pipelining, smuggling
 * attempts, slow heads). Responses are read by Content-Length; `heads` lists which responses answer HEAD.
 */
export class RawHttp {
  readonly socket: Socket;
  private buf = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (d: Buffer) => {
      this.buf = Buffer.concat([this.buf, d]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<RawHttp> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new RawHttp(s)));
      s.once('error', reject);
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async more(deadline: number): Promise<void> {
    if (this.closed) throw new Error('connection closed');
    const left = deadline - Date.now();
    if (left <= 0) throw new Error('timed out waiting for a response');
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, left);
      this.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** the next response; `head` when it answers a HEAD request (no body follows) */
  async read(opts: { head?: boolean; timeoutMs?: number } = {}): Promise<RawResponse> {
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    let end = this.buf.indexOf('\r\n\r\n');
    while (end < 0) {
      await this.more(deadline);
      end = this.buf.indexOf('\r\n\r\n');
    }
    const lines = this.buf.toString('latin1', 0, end).split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers: Record<string, string> = {};
    for (const l of lines.slice(1)) {
      const i = l.indexOf(':');
      headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
    }
    const noBody = opts.head || status === 304 || status === 204;
    if (!noBody && /chunked/i.test(headers['transfer-encoding'] ?? '')) {
      this.buf = this.buf.subarray(end + 4);
      return { status, headers, body: await this.readChunked(deadline) };
    }
    const len = noBody ? 0 : Number(headers['content-length'] ?? 0);
    while (this.buf.length < end + 4 + len) await this.more(deadline);
    const body = Buffer.from(this.buf.subarray(end + 4, end + 4 + len));
    this.buf = this.buf.subarray(end + 4 + len);
    return { status, headers, body };
  }

  private async readChunked(deadline: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (;;) {
      let eol = this.buf.indexOf('\r\n');
      while (eol < 0) {
        await this.more(deadline);
        eol = this.buf.indexOf('\r\n');
      }
      const size = Number.parseInt(this.buf.toString('latin1', 0, eol), 16);
      while (this.buf.length < eol + 2 + size + 2) await this.more(deadline);
      parts.push(Buffer.from(this.buf.subarray(eol + 2, eol + 2 + size)));
      this.buf = this.buf.subarray(eol + 2 + size + 2);
      if (size === 0) return Buffer.concat(parts);
    }
  }

  /** resolves when the server closes the connection (or rejects after timeoutMs) */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      try {
        await this.more(deadline);
      } catch (err) {
        if (this.closed) return;
        throw err;
      }
    }
  }

  /** bytes received and not read as a response */
  get unread(): number {
    return this.buf.length;
  }

  close(): void {
    this.socket.destroy();
  }
}
