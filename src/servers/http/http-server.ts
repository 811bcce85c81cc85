import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { createServer as createTlsServer } from 'node:tls';
import { WebSocketServer } from 'ws';
import type { ApiService } from '../../api/api-service.js';
import type { MediaGate } from '../../control/media-gate.js';
import type { ConnectionLimiter } from '../../core/connection-limiter.js';
import { errorCode } from '../../errors.js';
import type { Logger } from '../../observability/logger.js';
import type { HlsService } from '../../segmenter/hls-service.js';
import type { ReloadableTlsContext } from '../../tls/tls-context.js';
import { limitConnections } from '../admission.js';
import { serveDash, serveTime } from '../dash/dash-routes.js';
import { HLS_PATH, serveHls } from '../hls/hls-routes.js';
import { type FlvRouteDeps, parseFlvPath, serveHttpFlv, serveWsFlv } from '../http-flv/flv-routes.js';
import { nodeExchange } from './exchange.js';
import { attachFastPath, type FastPathConnection, type FastPathOptions } from './fast-path.js';
import { parseRequestTarget } from './request-target.js';

/** node:http client-error codes that have their own status (RFC 9110 §15.5.9, RFC 6585 §5) */
const CLIENT_ERROR_STATUS: Record<string, number> = {
  HPE_HEADER_OVERFLOW: 431,
  ERR_HTTP_REQUEST_TIMEOUT: 408,
};

/**
 * One HTTP listener mounting every HTTP-side protocol. The listening socket is a plain net.Server: each
 * connection starts on the media fast path (HLS files, fast-path.ts) and moves to node:http (HTTP-FLV, WebSocket,
 * DASH, everything else, and any request the fast path does not fully understand) at its first such request.
 */
export class HttpServer {
  private listener: NetServer | undefined;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly fastConnections = new Set<FastPathConnection>();
  private detachTls: (() => void) | undefined;
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 64 * 1024,
  });

  constructor(
    private readonly deps: Omit<FlvRouteDeps, 'wss'> & {
      gate?: MediaGate;
      api?: ApiService;
      limiter?: ConnectionLimiter;
    },
    private readonly log: Logger,
    private readonly hls?: HlsService,
  ) {}

  private get flvDeps(): FlvRouteDeps {
    return { ...this.deps, wss: this.wss };
  }

  /** With `tls`: HTTPS and WSS on this listener (the certificate follows the context's reloads). */
  async start(host: string, port: number, tls?: ReloadableTlsContext): Promise<number> {
    const { headersTimeoutMs, keepAliveTimeoutMs, maxHeaderBytes } = this.deps.config.http;
    const server = createServer(
      {
        requestTimeout: Math.max(30_000, headersTimeoutMs),
        headersTimeout: headersTimeoutMs,
        maxHeaderSize: maxHeaderBytes,
        // how often node:http checks those two timeouts (its default, 30 s, would let a slow-loris head live
        // three times longer than headersTimeout)
        connectionsCheckingInterval: Math.min(1_000, headersTimeoutMs),
      },
      (req, res) => this.onRequest(req, res),
    );
    this.server = server;
    server.keepAliveTimeout = keepAliveTimeoutMs;
    const hls = this.hls;
    const fast: FastPathOptions | undefined = hls && {
      maxHeadBytes: maxHeaderBytes,
      headTimeoutMs: headersTimeoutMs,
      keepAliveMs: keepAliveTimeoutMs,
      accepts: (_method, pathname) => HLS_PATH.test(pathname),
      serve: (ex) => serveHls(ex, { config: this.deps.config, hls, gate: this.deps.gate }),
      handOff: (socket) => server.emit('connection', socket),
      onReject: (reason) => this.deps.counters.inc('http_rejected', reason),
      onIdle: () => this.deps.counters.inc('http_idle_closed'),
    };
    // allowHalfOpen as node:http's own listener has it, so handed-off sockets behave the same
    const onSocket = (s: Socket) => {
      if (s.destroyed) return; // refused by the connection limits
      if (!fast) return void server.emit('connection', s);
      const c = attachFastPath(s, fast);
      this.fastConnections.add(c);
      s.on('close', () => this.fastConnections.delete(c));
    };
    let listener: NetServer;
    if (tls) {
      const t = createTlsServer(
        // not half-open: a client that closes before its handshake must free the socket at once
        { ...tls.serverOptions(), handshakeTimeout: headersTimeoutMs },
        onSocket,
      );
      t.on('tlsClientError', (err) => this.deps.counters.inc('tls_rejected', errorCode(err)));
      this.detachTls = tls.attach(t);
      listener = t;
    } else listener = createNetServer({ allowHalfOpen: true, noDelay: true }, onSocket);
    if (this.deps.limiter) limitConnections(listener, this.deps.limiter, this.deps.counters);
    // raw TCP sockets (before any TLS handshake), so close() can end every one of them
    listener.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.listener = listener;
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    server.on('clientError', (err, socket) => {
      // node:http reports an error again for bytes that arrive after the first one: count a connection once
      if (socket.destroyed || socket.writableEnded) return;
      const code = (err as NodeJS.ErrnoException).code ?? 'bad-request';
      this.deps.counters.inc('http_rejected', code);
      const status = CLIENT_ERROR_STATUS[code] ?? 400;
      const line = `HTTP/1.1 ${status} ${STATUS_CODES[status]}`;
      if (socket.writable) socket.end(`${line}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      else socket.destroy();
    });
    await new Promise<void>((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, host, () => {
        listener.off('error', reject);
        resolve();
      });
    });
    // node:http starts its header/request timeout checks on 'listening'; its sockets come from `listener`
    server.emit('listening');
    const addr = listener.address();
    return typeof addr === 'object' && addr ? addr.port : port;
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const allow = this.deps.config.http.allowOrigin;
    const url = parseRequestTarget(req.url);
    if (!url) {
      res.writeHead(400).end();
      return;
    }
    if (this.deps.api?.handle(req, res, url)) return;
    if (req.method === 'OPTIONS') {
      // CORS preflight (mpegts.js sends Range, which needs one: protocol brief §3)
      res
        .writeHead(204, {
          'Access-Control-Allow-Origin': allow,
          'Access-Control-Allow-Methods': 'GET, HEAD, OPTIONS',
          'Access-Control-Allow-Headers': 'range, content-type',
          'Access-Control-Max-Age': '86400',
        })
        .end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD, OPTIONS' }).end();
      return;
    }
    const flv = parseFlvPath(url.pathname, this.deps.config);
    if (flv) return serveHttpFlv(req, res, flv.app, flv.name, url.searchParams.toString(), this.flvDeps);
    if (this.hls && serveHls(nodeExchange(req, res, url), { ...this.deps, hls: this.hls })) return;
    if (this.hls && serveDash(req, res, url, { ...this.deps, hls: this.hls })) return;
    if (url.pathname === '/time') return serveTime(res, this.deps.config);
    if (url.pathname === '/healthz') {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('ok\n');
      return;
    }
    res
      .writeHead(404, { 'Content-Type': 'text/plain', 'Access-Control-Allow-Origin': allow })
      .end('not found\n');
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    const target = parseRequestTarget(req.url);
    const flv = parseFlvPath(target?.pathname ?? '', this.deps.config);
    if (!flv || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    serveWsFlv(req, socket, head, flv.app, flv.name, target?.searchParams.toString() ?? '', this.flvDeps);
  }

  async close(): Promise<void> {
    const server = this.server;
    const listener = this.listener;
    this.server = undefined;
    this.listener = undefined;
    this.detachTls?.();
    if (!server || !listener) return;
    const closed = new Promise<void>((r) => listener.close(() => r()));
    // clears node:http's timeout checks and ends its idle keep-alive sockets (it never listened itself)
    server.close(() => {});
    for (const c of this.wss.clients) c.terminate();
    for (const c of this.fastConnections) c.closeIfIdle();
    setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, 500).unref();
    await closed;
    this.log.debug('http closed');
  }
}
