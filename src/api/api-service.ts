import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Session } from '../core/sessions.js';
import type { Stream } from '../core/stream.js';
import type { Logger } from '../observability/logger.js';
import { Metrics, type MetricsSnapshot } from '../observability/metrics.js';
import type { TidecastServer } from '../server.js';
import type { RequestTarget } from '../servers/http/request-target.js';
import { RateSampler, type Rates, type StreamBytes } from './rates.js';
import { ApiError, matchRoute, type Route, sendError, sendJson } from './router.js';
import { API_ROUTES, type ApiContext, sessionsByPath } from './routes.js';
import { SseHub } from './sse.js';
import { bearerToken, resolveToken, tokensEqual } from './token.js';
import { countBy, droppedFrames, isPlayerProtocol, playerBytes, VERSION } from './views.js';

export const API_PREFIX = '/api/v1';
const SAMPLE_MS = 1_000;

/**
 * REST API (`/api/v1`), server-sent events and `/metrics`, mounted on every HTTP listener. Every `/api/v1`
 * request needs `Authorization: Bearer <token>` (`/metrics` only with `metrics.requireToken`); errors are JSON
 * with a stable code. A one-second timer samples byte totals for bitrates and the process CPU share.
 */
export class ApiService implements ApiContext {
  readonly routes: readonly Route<ApiContext>[] = API_ROUTES;
  readonly sse: SseHub;
  readonly metrics: Metrics | undefined;
  startedAt = Date.now();
  private token: string | undefined;
  private readonly sampler = new RateSampler();
  private sampleTimer: NodeJS.Timeout | undefined;

  constructor(
    readonly server: TidecastServer,
    readonly log: Logger,
  ) {
    this.sse = new SseHub(server.events);
    if (server.config.metrics.enabled) {
      const hls = server.hls ? 'segments' : 'off';
      this.metrics = new Metrics(
        { counters: () => server.counters.snapshot(), snapshot: () => this.metricsSnapshot() },
        { hls },
      );
    }
  }

  private get apiEnabled(): boolean {
    return this.server.config.api.enabled;
  }

  /** Loads (or makes) the token and starts the sampler, the SSE pings and the process metrics. */
  start(): void {
    const { api, metrics } = this.server.config;
    this.startedAt = Date.now();
    if (api.enabled || (metrics.enabled && metrics.requireToken)) this.token = this.loadToken();
    this.sample();
    this.sampleTimer = setInterval(() => this.sample(), SAMPLE_MS);
    this.sampleTimer.unref();
    if (api.enabled) this.sse.start();
  }

  /** Stops the timers and the process metrics and ends every event stream. */
  close(): void {
    clearInterval(this.sampleTimer);
    this.sampleTimer = undefined;
    this.sse.close();
    this.metrics?.close();
  }

  private loadToken(): string {
    const { token, tokenFile } = this.server.config.api;
    const src = resolveToken(token, tokenFile);
    if (src.from === 'generated') {
      process.stdout.write(`API token (saved to ${tokenFile}): ${src.token}\n`);
      this.log.info({ file: tokenFile }, 'API token generated');
    } else if (src.from === 'file') {
      this.log.info({ file: tokenFile }, 'API token read from file');
      if (src.looseMode)
        this.log.warn({ file: tokenFile }, 'API token file is readable by others (chmod 600)');
    }
    return src.token;
  }

  /** true when the request was an API or metrics path (answered, possibly asynchronously) */
  handle(req: IncomingMessage, res: ServerResponse, url: RequestTarget): boolean {
    const p = url.pathname;
    const api = this.apiEnabled && (p === API_PREFIX || p.startsWith(`${API_PREFIX}/`));
    const metrics = this.metrics !== undefined && p === '/metrics';
    if (!api && !metrics) return false;
    void this.dispatch(req, res, url, api);
    return true;
  }

  private async dispatch(
    req: IncomingMessage,
    res: ServerResponse,
    url: RequestTarget,
    api: boolean,
  ): Promise<void> {
    const method = req.method ?? 'GET';
    try {
      if (api) this.authorize(req);
      const m = matchRoute(this.routes, method, url.pathname);
      if (m.kind === 'none')
        throw new ApiError(404, 'API_NOT_FOUND', `no route for ${method} ${url.pathname}`);
      if (m.kind === 'method') {
        throw new ApiError(405, 'API_METHOD_NOT_ALLOWED', `${method} is not allowed here`, {
          Allow: m.allow.join(', '),
        });
      }
      if (m.route.auth === 'metrics' && this.server.config.metrics.requireToken) this.authorize(req);
      const reply = await m.route.handler(this, { req, res, url, params: m.params });
      if (reply) sendJson(res, reply.status, reply.body);
    } catch (err) {
      if (err instanceof ApiError) return sendError(res, err);
      this.log.error({ err, method, path: url.pathname }, 'api request failed');
      sendError(res, new ApiError(500, 'API_INTERNAL', 'internal error'));
    }
  }

  private authorize(req: IncomingMessage): void {
    const presented = bearerToken(req.headers.authorization);
    if (presented !== undefined && this.token !== undefined && tokensEqual(presented, this.token)) return;
    const reason = presented === undefined ? 'no-token' : 'bad-token';
    this.server.counters.inc('api_rejected', reason);
    const challenge =
      presented === undefined ? 'Bearer realm="tidecast"' : 'Bearer realm="tidecast", error="invalid_token"';
    throw new ApiError(
      401,
      'API_UNAUTHORIZED',
      presented === undefined ? 'missing bearer token' : 'invalid bearer token',
      { 'WWW-Authenticate': challenge },
    );
  }

  // --- ApiContext ---

  get cpuPercent(): number {
    return this.sampler.cpuPercentOfOneCore;
  }

  kick(session: Session, reason: string): void {
    this.log.info({ id: session.id, app: session.app, stream: session.name, reason }, 'kicked by the API');
    this.server.events.emit({
      type: 'kick',
      sessionId: session.id,
      protocol: session.protocol,
      ip: session.ip,
      app: session.app,
      name: session.name,
      reason,
      extra: { by: 'api' },
    });
    session.kick(reason);
  }

  rates(stream: Stream, byPath?: Map<string, Session[]>): Rates {
    return this.sampler.rates(this.streamBytes(stream, byPath));
  }

  private streamBytes(stream: Stream, byPath?: Map<string, Session[]>): StreamBytes {
    const sessions = byPath
      ? (byPath.get(stream.path) ?? [])
      : this.server.sessions.forStream(stream.app, stream.name);
    return {
      path: stream.path,
      publishedAt: stream.publishedAt,
      bytesIn: stream.bytesIn,
      players: playerBytes(sessions),
    };
  }

  private sample(): void {
    this.sampler.sampleCpu();
    const live = this.server.registry.list().filter((s) => s.live);
    if (live.length === 0 && this.server.sessions.size === 0) return this.sampler.sample([]);
    const byPath = sessionsByPath(this.server.sessions.list());
    this.sampler.sample(live.map((s) => this.streamBytes(s, byPath)));
  }

  private metricsSnapshot(): MetricsSnapshot {
    const s = this.server;
    const sessionList = s.sessions.list();
    const byPath = sessionsByPath(sessionList);
    const connections: Record<string, number> = {};
    if (s.rtmp) connections.rtmp = s.rtmp.connectionCount;
    if (s.rtmps) connections.rtmps = s.rtmps.connectionCount;
    const streams = s.registry.list();
    return {
      version: VERSION,
      sessions: sessionList.map((x) => ({
        protocol: x.protocol,
        role: x.role,
        bytesIn: x.bytesIn(),
        bytesOut: x.bytesOut(),
      })),
      connections,
      streams: streams.map((st) => {
        const r = st.live ? this.rates(st, byPath) : undefined;
        return {
          app: st.app,
          name: st.name,
          live: st.live,
          players: countBy(st.subscribers, (sub) =>
            isPlayerProtocol(sub.protocol) ? sub.protocol : undefined,
          ),
          bitrateIn: r?.in ?? 0,
          bitrateOut: r?.out ?? 0,
          droppedFrames: droppedFrames(st),
        };
      }),
      hls: s.hls ? this.hlsStats(streams) : undefined,
      sseClients: this.sse.size,
    };
  }

  /** Streams being segmented and their segments in memory (HlsService.stats starts nothing). */
  private hlsStats(_streams: readonly Stream[]): { streams: number; segments?: number } {
    return this.server.hls?.stats() ?? { streams: 0, segments: 0 };
  }
}
