import http from 'node:http';
import https from 'node:https';

/** Largest response body read from a webhook; a longer one is an error (and the socket is dropped). */
export const MAX_RESPONSE_BYTES = 64 * 1024;

/** What one POST came to. Only `response` means the receiver answered in full. */
export type PostOutcome =
  | { kind: 'response'; status: number; body: Buffer }
  | { kind: 'too-large'; status: number }
  | { kind: 'timeout' }
  | { kind: 'closed' }
  | { kind: 'network'; error: string };

export interface PostOptions {
  url: URL;
  body: Buffer;
  headers: Record<string, string>;
  /** the whole exchange (connect, send, response headers and body) must finish within this */
  timeoutMs: number;
  /** aborts the request when the client closes */
  closeSignal: AbortSignal;
}

/**
 * POSTs over keep-alive agents. Idle sockets are closed after 4 s, under the 5 s idle timeout of a
 * default Node server, to avoid reusing a socket the receiver is closing; if that still happens (ECONNRESET
 * on a reused socket before any response) the request is sent once more on a fresh socket, as the Node docs
 * advise: the receiver almost certainly never saw it (and the repeat carries the same delivery id).
 */
export class HttpTransport {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64, timeout: 4_000 });
  private readonly httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, timeout: 4_000 });

  async post(opts: PostOptions): Promise<PostOutcome> {
    const deadline = Date.now() + opts.timeoutMs;
    const first = await this.once(opts, opts.timeoutMs);
    if (first.outcome.kind !== 'network' || !first.staleSocket) return first.outcome;
    const left = deadline - Date.now();
    if (left <= 0) return { kind: 'timeout' };
    return (await this.once(opts, left)).outcome;
  }

  /** Drops every pooled socket. */
  destroy(): void {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }

  private once(
    opts: PostOptions,
    timeoutMs: number,
  ): Promise<{ outcome: PostOutcome; staleSocket: boolean }> {
    return new Promise((resolve) => {
      if (opts.closeSignal.aborted) {
        resolve({ outcome: { kind: 'closed' }, staleSocket: false });
        return;
      }
      const secure = opts.url.protocol === 'https:';
      const req = (secure ? https : http).request(opts.url, {
        method: 'POST',
        agent: secure ? this.httpsAgent : this.httpAgent,
        headers: { ...opts.headers, 'content-length': String(opts.body.length) },
      });
      let settled = false;
      let responded = false;
      const finish = (outcome: PostOutcome, staleSocket = false): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        opts.closeSignal.removeEventListener('abort', onClose);
        resolve({ outcome, staleSocket });
      };
      const abort = (outcome: PostOutcome): void => {
        finish(outcome);
        req.destroy();
      };
      const onClose = (): void => abort({ kind: 'closed' });
      const timer = setTimeout(() => abort({ kind: 'timeout' }), timeoutMs);
      opts.closeSignal.addEventListener('abort', onClose, { once: true });

      req.on('error', (err: NodeJS.ErrnoException) => {
        const stale = !responded && req.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE');
        finish({ kind: 'network', error: err.code ?? err.message }, stale);
      });
      req.on('response', (res) => {
        responded = true;
        const status = res.statusCode ?? 0;
        const declared = Number(res.headers['content-length'] ?? 0);
        if (declared > MAX_RESPONSE_BYTES) {
          abort({ kind: 'too-large', status });
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) abort({ kind: 'too-large', status });
          else chunks.push(chunk);
        });
        res.on('end', () => finish({ kind: 'response', status, body: Buffer.concat(chunks) }));
        res.on('error', (err: NodeJS.ErrnoException) =>
          finish({ kind: 'network', error: err.code ?? err.message }),
        );
        res.on('close', () => finish({ kind: 'network', error: 'response-truncated' }));
      });
      req.end(opts.body);
    });
  }
}
