import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { errorCode } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { ReloadableTlsContext } from '../../tls/tls-context.js';
import { limitConnections } from '../admission.js';
import { type ConnectionDeps, RtmpConnection } from './connection.js';

/** The RTMP listener: accepts sockets, owns the connection set, closes them all on shutdown. */
export class RtmpServer {
  private server: Server | undefined;
  private readonly connections = new Set<RtmpConnection>();
  private nextId = 1;
  private detachTls: (() => void) | undefined;

  constructor(
    private readonly deps: ConnectionDeps,
    private readonly log: Logger,
  ) {}

  get connectionCount(): number {
    return this.connections.size;
  }

  /** With `tls`: RTMPS (RTMP inside TLS; the certificate follows the context's reloads). */
  async start(host: string, port: number, tls?: ReloadableTlsContext): Promise<number> {
    let server: Server;
    if (tls) {
      const t = createTlsServer(
        { ...tls.serverOptions(), handshakeTimeout: this.deps.config.rtmp.handshakeTimeoutMs },
        (s) => this.accept(s),
      );
      // a failed TLS handshake is that client's problem: count it, keep serving
      t.on('tlsClientError', (err) => this.deps.counters.inc('tls_rejected', errorCode(err)));
      this.detachTls = tls.attach(t);
      server = t;
    } else server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    if (this.deps.limiter) limitConnections(server, this.deps.limiter, this.deps.counters);
    this.server = server;
    server.on('error', (err) => this.log.error({ err }, 'rtmp listener error'));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  private accept(socket: Socket): void {
    if (socket.destroyed) return; // refused by the connection limits
    if (this.connections.size >= this.deps.config.rtmp.maxConnections) {
      this.deps.counters.inc('connect_rejected', 'max-connections');
      socket.destroy();
      return;
    }
    const conn = new RtmpConnection(`${this.deps.protocol ?? 'rtmp'}-${this.nextId++}`, socket, this.deps);
    this.connections.add(conn);
    void conn.done.then(() => this.connections.delete(conn));
  }

  /** Stop accepting, then end every connection (players were already notified by the registry). */
  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    this.detachTls?.();
    for (const c of this.connections) c.close('server-shutdown');
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }
}
