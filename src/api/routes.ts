import { MAX_KEY_LENGTH } from '../access/stream-keys.js';
import { SERVER_EVENT_TYPES, type ServerEventType } from '../core/events.js';
import { type Session, SessionTable } from '../core/sessions.js';
import type { Stream } from '../core/stream.js';
import type { Metrics } from '../observability/metrics.js';
import { addPush, listRelays, removePush } from '../relay/relay-api.js';
import type { TidecastServer } from '../server.js';
import { isValidStreamName } from '../servers/names.js';
import { TRANSCODE_ROUTES } from '../transcode/api-routes.js';
import { OPENAPI } from './openapi.js';
import type { Rates } from './rates.js';
import { ApiError, type Call, type Reply, type Route, route } from './router.js';
import type { SseHub } from './sse.js';
import { countBy, isPlayerProtocol, redactConfig, streamView, VERSION } from './views.js';

/** What the handlers use; the ApiService provides it. */
export interface ApiContext {
  readonly server: TidecastServer;
  readonly sse: SseHub;
  readonly metrics: Metrics | undefined;
  /** when the API service started (the server's start) */
  readonly startedAt: number;
  readonly cpuPercent: number;
  rates(stream: Stream, sessionsByPath?: Map<string, Session[]>): Rates;
  /** emits a `kick` event, then ends the session */
  kick(session: Session, reason: string): void;
}

const APP_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const SESSION_ID_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
const KEY_BAD_CHAR = /[\s\u0000-\u001f\u007f]/;
const EVENT_TYPES: ReadonlySet<string> = new Set<ServerEventType>(SERVER_EVENT_TYPES);

const ok = (body: unknown): Reply => ({ status: 200, body });
const noContent: Reply = { status: 204 };

function streamParams(c: Call): { app: string; name: string } {
  const { app, name } = c.params;
  if (!APP_RE.test(app)) throw new ApiError(400, 'API_BAD_REQUEST', 'invalid app name');
  if (!isValidStreamName(name)) throw new ApiError(400, 'API_BAD_REQUEST', 'invalid stream name');
  return { app, name };
}

function findStream(ctx: ApiContext, c: Call): Stream {
  const { app, name } = streamParams(c);
  const stream = ctx.server.registry.get(app, name);
  if (!stream) throw new ApiError(404, 'API_STREAM_NOT_FOUND', `no stream ${app}/${name}`);
  return stream;
}

function findSession(ctx: ApiContext, c: Call): Session {
  const { id } = c.params;
  if (!SESSION_ID_RE.test(id)) throw new ApiError(400, 'API_BAD_REQUEST', 'invalid session id');
  const s = ctx.server.sessions.get(id);
  if (!s) throw new ApiError(404, 'API_SESSION_NOT_FOUND', `no session ${id}`);
  return s;
}

function keyParam(c: Call): string {
  const { key } = c.params;
  if (key.length === 0 || key.length > MAX_KEY_LENGTH || KEY_BAD_CHAR.test(key)) {
    throw new ApiError(400, 'API_BAD_REQUEST', 'invalid stream key');
  }
  return key;
}

/** Sessions grouped by `app/name`, so listing every stream is one pass over the sessions. */
export function sessionsByPath(sessions: readonly Session[]): Map<string, Session[]> {
  const out = new Map<string, Session[]>();
  for (const s of sessions) {
    if (s.app === undefined || s.name === undefined) continue;
    const path = `${s.app}/${s.name}`;
    const list = out.get(path);
    if (list) list.push(s);
    else out.set(path, [s]);
  }
  return out;
}

function serverInfo(ctx: ApiContext): unknown {
  const s = ctx.server;
  const now = Date.now();
  const sessions = s.sessions.list();
  const streams = s.registry.list();
  const cpu = process.cpuUsage();
  const connections: Record<string, number> = {};
  if (s.rtmp) connections.rtmp = s.rtmp.connectionCount;
  if (s.rtmps) connections.rtmps = s.rtmps.connectionCount;
  let players = 0;
  for (const st of streams) for (const sub of st.subscribers) if (isPlayerProtocol(sub.protocol)) players++;
  return {
    name: 'tidecast',
    version: VERSION,
    pid: process.pid,
    node: process.version,
    platform: process.platform,
    arch: process.arch,
    startedAt: new Date(ctx.startedAt).toISOString(),
    uptimeSeconds: Math.round((now - ctx.startedAt) / 1000),
    processUptimeSeconds: Math.round(process.uptime()),
    cpu: { userMicros: cpu.user, systemMicros: cpu.system, percent: ctx.cpuPercent },
    memory: process.memoryUsage(),
    connections,
    sessions: {
      total: sessions.length,
      byProtocol: countBy(sessions, (x) => x.protocol),
      byRole: countBy(sessions, (x) => x.role),
    },
    streams: { total: streams.length, live: streams.filter((x) => x.live).length, players },
    eventStreams: ctx.sse.size,
    ports: s.ports,
  };
}

function listStreams(ctx: ApiContext): Reply {
  const byPath = sessionsByPath(ctx.server.sessions.list());
  const now = Date.now();
  const streams = ctx.server.registry
    .list()
    .map((st) => streamView(st, ctx.rates(st, byPath), now))
    .sort((a, b) => (a.app === b.app ? a.name.localeCompare(b.name) : a.app.localeCompare(b.app)));
  return ok({ streams });
}

function listSessions(ctx: ApiContext): Reply {
  const now = Date.now();
  const sessions = ctx.server.sessions
    .list()
    .sort((a, b) => a.startedAt - b.startedAt)
    .map((s) => SessionTable.view(s, now));
  return ok({ sessions });
}

function kickStream(ctx: ApiContext, c: Call): Reply {
  const stream = findStream(ctx, c);
  const pub = stream.publisher;
  if (!pub) throw new ApiError(404, 'API_STREAM_NOT_FOUND', `${stream.path} has no publisher`);
  const session = ctx.server.sessions.get(pub.id);
  if (session) ctx.kick(session, 'kicked');
  else {
    ctx.server.events.emit({
      type: 'kick',
      sessionId: pub.id,
      protocol: pub.protocol,
      ip: pub.remoteAddress,
      app: stream.app,
      name: stream.name,
      reason: 'kicked',
    });
    pub.kick('kicked');
  }
  return noContent;
}

/** Bans the key, and kicks the publisher of each stream the key granted (in every app). */
function banKey(ctx: ApiContext, c: Call): Reply {
  const key = keyParam(c);
  const keys = ctx.server.access.keys;
  const granted: Array<{ app: string; name: string }> = [];
  for (const app of Object.keys(ctx.server.config.apps)) {
    const found = keys.lookup(app, key);
    if (found.ok) granted.push({ app, name: found.stream });
  }
  keys.ban(key);
  for (const { app, name } of granted) {
    const pub = ctx.server.registry.get(app, name)?.publisher;
    if (!pub) continue;
    const session = ctx.server.sessions.get(pub.id);
    if (session) ctx.kick(session, 'banned-key');
    else pub.kick('banned-key');
  }
  return noContent;
}

function unbanKey(ctx: ApiContext, c: Call): Reply {
  const key = keyParam(c);
  if (!ctx.server.access.keys.unban(key)) throw new ApiError(404, 'API_KEY_NOT_BANNED', 'key is not banned');
  return noContent;
}

function events(ctx: ApiContext, c: Call): Reply {
  const raw = c.url.searchParams.get('types');
  let types: Set<ServerEventType> | undefined;
  if (raw !== null) {
    const list = raw.split(',').filter(Boolean);
    const bad = list.find((t) => !EVENT_TYPES.has(t));
    if (bad !== undefined || list.length === 0) {
      throw new ApiError(400, 'API_BAD_REQUEST', `unknown event type ${JSON.stringify(bad ?? raw)}`);
    }
    types = new Set(list as ServerEventType[]);
  }
  ctx.sse.open(c.res, types);
  return undefined;
}

async function metrics(ctx: ApiContext, c: Call): Promise<Reply> {
  if (!ctx.metrics) throw new ApiError(404, 'API_NOT_FOUND', 'metrics are disabled');
  const text = await ctx.metrics.render();
  c.res
    .writeHead(200, {
      'Content-Type': ctx.metrics.contentType,
      'Cache-Control': 'no-store',
      'Content-Length': Buffer.byteLength(text),
    })
    .end(text);
  return undefined;
}

/** Every route; the OpenAPI document lists exactly these (a test checks both ways). */
export const API_ROUTES: readonly Route<ApiContext>[] = [
  route('GET', '/api/v1/server', (ctx) => ok(serverInfo(ctx))),
  route('GET', '/api/v1/streams', listStreams),
  route('GET', '/api/v1/streams/{app}/{name}', (ctx, c) => {
    const st = findStream(ctx, c);
    return ok(streamView(st, ctx.rates(st)));
  }),
  route('DELETE', '/api/v1/streams/{app}/{name}', kickStream),
  route('GET', '/api/v1/sessions', listSessions),
  route('GET', '/api/v1/sessions/{id}', (ctx, c) => ok(SessionTable.view(findSession(ctx, c)))),
  route('DELETE', '/api/v1/sessions/{id}', (ctx, c) => {
    ctx.kick(findSession(ctx, c), 'kicked');
    return noContent;
  }),
  route('POST', '/api/v1/keys/{key}/ban', banKey),
  route('DELETE', '/api/v1/keys/{key}/ban', unbanKey),
  route('GET', '/api/v1/config', (ctx) => ok(redactConfig(ctx.server.config))),
  route('GET', '/api/v1/relays', (ctx) => listRelays(ctx.server.relays)),
  route('POST', '/api/v1/relays/pushes', (ctx, c) => addPush(ctx.server.relays, c)),
  route('DELETE', '/api/v1/relays/pushes/{id}', (ctx, c) => removePush(ctx.server.relays, c)),
  ...TRANSCODE_ROUTES,
  route('GET', '/api/v1/events', events),
  route('GET', '/api/v1/openapi.json', () => ok(OPENAPI)),
  route('GET', '/metrics', metrics, 'metrics'),
];
