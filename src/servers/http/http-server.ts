import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Logger } from '../../observability/logger.js';
import type { HlsService } from '../../segmenter/hls-service.js';
import { serveDash, serveTime } from '../dash/dash-routes.js';
import { serveHls } from '../hls/hls-routes.js';
import { type FlvRouteDeps, parseFlvPath, serveHttpFlv, serveWsFlv } from '../http-flv/flv-routes.js';
import { parseRequestTarget } from './request-target.js';

/** One HTTP listener mounting every HTTP-side protocol (HTTP-FLV and WebSocket-FLV now; HLS, DASH, API later). */
export class HttpServer {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private readonly wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: 64 * 1024,
  });

  constructor(
    private readonly deps: Omit<FlvRouteDeps, 'wss'>,
    private readonly log: Logger,
    private readonly hls?: HlsService,
  ) {}

  private get flvDeps(): FlvRouteDeps {
    return { ...this.deps, wss: this.wss };
  }

  async start(host: string, port: number): Promise<number> {
    const server = createServer(
      { requestTimeout: 30_000, headersTimeout: 10_000, maxHeaderSize: 16 * 1024 },
      (req, res) => this.onRequest(req, res),
    );
    this.server = server;
    server.keepAliveTimeout = 5_000;
    server.on('connection', (s: Socket) => {
      s.setNoDelay(true);
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    server.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
    server.on('clientError', (err, socket) => {
      this.deps.counters.inc('http_rejected', (err as NodeJS.ErrnoException).code ?? 'bad-request');
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      else socket.destroy();
    });
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

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const allow = this.deps.config.http.allowOrigin;
    const url = parseRequestTarget(req.url);
    if (!url) {
      res.writeHead(400).end();
      return;
    }
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
    if (flv) return serveHttpFlv(req, res, flv.app, flv.name, this.flvDeps);
    if (this.hls && serveHls(req, res, url, { config: this.deps.config, hls: this.hls })) return;
    if (this.hls && serveDash(req, res, url, { config: this.deps.config, hls: this.hls })) return;
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
    const pathname = parseRequestTarget(req.url)?.pathname ?? '';
    const flv = parseFlvPath(pathname, this.deps.config);
    if (!flv || (req.headers.upgrade ?? '').toLowerCase() !== 'websocket') {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
      return;
    }
    serveWsFlv(req, socket, head, flv.app, flv.name, this.flvDeps);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    const closed = new Promise<void>((r) => server.close(() => r()));
    for (const c of this.wss.clients) c.terminate();
    server.closeIdleConnections();
    setTimeout(() => {
      for (const s of this.sockets) s.destroy();
    }, 500).unref();
    await closed;
    this.log.debug('http closed');
  }
}
