import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { OPENAPI } from '../../src/api/openapi.js';
import { type Match, matchRoute } from '../../src/api/router.js';
import { API_ROUTES, type ApiContext } from '../../src/api/routes.js';
import { type FlvPublisher, publishFlv } from '../helpers/flv-publisher.js';
import { startTestServer, TEST_API_TOKEN, type TestServer } from '../helpers/server.js';
import { hasTool, media } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

// ---------------------------------------------------------------------------------------------------------------
// A strict Prometheus text-format (0.0.4) parser: every line must be a HELP/TYPE/comment or a well-formed sample,
// TYPE comes before its samples, no family is typed twice and no series appears twice.

interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface PromFamily {
  name: string;
  type: string;
  help?: string;
  samples: PromSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
// as Prometheus reads values (Go's ParseFloat): NaN and Inf in any case (prom-client writes `Nan`)
const PROM_VALUE = /^(?:[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[+-]?inf(?:inity)?|nan)$/i;

function promNumber(text: string): number {
  if (/^nan$/i.test(text)) return Number.NaN;
  const inf = /^([+-]?)inf(?:inity)?$/i.exec(text);
  return inf ? (inf[1] === '-' ? -Infinity : Infinity) : Number(text);
}
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function unescapeProm(s: string, quotes: boolean): string {
  return s.replace(quotes ? /\\([\\"n])/g : /\\([\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"\s*(,|$)/y;
  let at = 0;
  while (at < text.length) {
    re.lastIndex = at;
    const m = re.exec(text);
    if (!m) throw new Error(`${where}: bad labels ${JSON.stringify(text)}`);
    if (Object.hasOwn(labels, m[1])) throw new Error(`${where}: label ${m[1]} twice`);
    labels[m[1]] = unescapeProm(m[2], true);
    at = re.lastIndex;
    if (m[3] === '' && at < text.length) throw new Error(`${where}: junk after labels`);
  }
  return labels;
}

function parsePrometheus(text: string): Map<string, PromFamily> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, PromFamily>();
  const series = new Set<string>();
  const familyOf = (sample: string): PromFamily | undefined => {
    const direct = families.get(sample);
    if (direct) return direct;
    const m = /^(.*)_(bucket|sum|count)$/.exec(sample);
    const base = m ? families.get(m[1]) : undefined;
    return base && (base.type === 'histogram' || base.type === 'summary') ? base : undefined;
  };
  text
    .slice(0, -1)
    .split('\n')
    .forEach((line, i) => {
      const where = `line ${i + 1}`;
      if (line.trim() === '') return;
      if (line.startsWith('#')) {
        const m = /^#[ \t]+(HELP|TYPE)[ \t]+(\S+)(?:[ \t]+(.*))?$/.exec(line);
        if (!m) {
          if (/^#[ \t]+(HELP|TYPE)\b/.test(line)) throw new Error(`${where}: malformed ${line}`);
          return; // a plain comment
        }
        const [, kind, name, rest = ''] = m;
        if (!METRIC_NAME.test(name)) throw new Error(`${where}: bad metric name ${name}`);
        const f = families.get(name) ?? { name, type: '', samples: [] };
        if (kind === 'HELP') {
          if (f.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
          families.set(name, f);
          f.help = unescapeProm(rest, false);
        } else {
          if (!TYPES.has(rest)) throw new Error(`${where}: bad type ${rest}`);
          if (f.type) throw new Error(`${where}: second TYPE for ${name}`);
          if (f.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`);
          families.set(name, f);
          f.type = rest;
        }
        return;
      }
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?[ \t]+(\S+)(?:[ \t]+(-?\d+))?[ \t]*$/.exec(line);
      if (!m) throw new Error(`${where}: malformed sample ${JSON.stringify(line)}`);
      const [, name, labelText = '', valueText] = m;
      if (!PROM_VALUE.test(valueText)) throw new Error(`${where}: bad value ${valueText}`);
      const labels = parseLabels(labelText, where);
      const key = `${name}{${Object.entries(labels)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(',')}}`;
      if (series.has(key)) throw new Error(`${where}: duplicate series ${key}`);
      series.add(key);
      const f = familyOf(name) ?? { name, type: 'untyped', samples: [] };
      families.set(f.name, f);
      if (!f.type) f.type = 'untyped';
      f.samples.push({ name, labels, value: promNumber(valueText) });
    });
  return families;
}

function promValue(
  fams: Map<string, PromFamily>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const f = fams.get(name);
  const s = f?.samples.find((x) => Object.entries(labels).every(([k, v]) => x.labels[k] === v));
  return s?.value;
}

// ---------------------------------------------------------------------------------------------------------------
// The OpenAPI document as data: $refs, and a minimal JSON Schema check (type, required, properties, items,
// additionalProperties, enum, const) for the bodies the tests get.

type Json = Record<string, unknown>;
const DOC = JSON.parse(JSON.stringify(OPENAPI)) as Json;

function deref(node: unknown): Json {
  let n = node as Json;
  while (n && typeof n.$ref === 'string') {
    const path = (n.$ref as string).replace(/^#\//, '').split('/');
    n = path.reduce<Json>((o, k) => o?.[k] as Json, DOC);
    if (!n) throw new Error(`unresolved $ref ${(node as Json).$ref}`);
  }
  return n;
}

function schemaProblems(schema: unknown, value: unknown, at = '$'): string[] {
  const s = deref(schema);
  const out: string[] = [];
  if ('const' in s && value !== s.const) out.push(`${at}: expected ${JSON.stringify(s.const)}`);
  if (Array.isArray(s.enum) && !s.enum.includes(value))
    out.push(`${at}: ${JSON.stringify(value)} not in enum`);
  if (s.type !== undefined) {
    const types = Array.isArray(s.type) ? (s.type as string[]) : [s.type as string];
    const actual =
      value === null
        ? 'null'
        : Array.isArray(value)
          ? 'array'
          : typeof value === 'number' && Number.isInteger(value)
            ? 'integer'
            : typeof value;
    const fits = types.some((t) => t === actual || (t === 'number' && actual === 'integer'));
    if (!fits) return [`${at}: expected ${types.join('|')}, got ${actual}`];
  }
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const obj = value as Json;
    for (const r of (s.required as string[] | undefined) ?? [])
      if (!(r in obj)) out.push(`${at}.${r}: missing`);
    const props = (s.properties as Json | undefined) ?? {};
    for (const [k, v] of Object.entries(obj)) {
      if (k in props) out.push(...schemaProblems(props[k], v, `${at}.${k}`));
      else if (s.additionalProperties && typeof s.additionalProperties === 'object')
        out.push(...schemaProblems(s.additionalProperties, v, `${at}.${k}`));
    }
  }
  if (Array.isArray(value) && s.items) {
    for (const [i, v] of value.entries()) out.push(...schemaProblems(s.items, v, `${at}[${i}]`));
  }
  return out;
}

interface Seen {
  method: string;
  template: string;
  status: number;
  contentType: string;
  body: unknown;
}
const seen: Seen[] = [];

/** A request that is recorded for the conformance check at the end. */
async function call(
  base: string,
  method: string,
  path: string,
  token: string | null = TEST_API_TOKEN,
): Promise<{ status: number; headers: Headers; body: unknown; text: string }> {
  const headers: Record<string, string> = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  const res = await fetch(`${base}${path}`, { method, headers });
  const text = await res.text();
  const contentType = res.headers.get('content-type') ?? '';
  const body = contentType.startsWith('application/json') ? JSON.parse(text) : undefined;
  let m: Match<ApiContext> = { kind: 'none' };
  try {
    m = matchRoute(API_ROUTES, method, path.split('?')[0]);
  } catch {
    // an undecodable parameter (the API answered 400 for it)
  }
  if (m.kind === 'route')
    seen.push({ method, template: m.route.path, status: res.status, contentType, body });
  return { status: res.status, headers: res.headers, body, text };
}

// ---------------------------------------------------------------------------------------------------------------
// SSE and HTTP-FLV clients over fetch.

interface SseClient {
  status: number;
  contentType: string;
  events: Array<{ event: string; data: Json }>;
  comments: string[];
  ended: Promise<void>;
  isEnded: () => boolean;
  abort: () => void;
}

async function openSse(url: string, token = TEST_API_TOKEN): Promise<SseClient> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: ac.signal });
  let ended = false;
  const c: SseClient = {
    status: res.status,
    contentType: res.headers.get('content-type') ?? '',
    events: [],
    comments: [],
    ended: Promise.resolve(),
    isEnded: () => ended,
    abort: () => ac.abort(),
  };
  c.ended = (async () => {
    const reader = res.body?.getReader();
    if (!reader) return;
    const dec = new TextDecoder();
    let buf = '';
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        buf += dec.decode(value, { stream: true });
        for (let i = buf.indexOf('\n\n'); i >= 0; i = buf.indexOf('\n\n')) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) c.comments.push(line.slice(1).trim());
            else if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) c.events.push({ event, data: JSON.parse(data) });
        }
      }
    } catch {
      // aborted
    } finally {
      ended = true;
    }
  })();
  return c;
}

interface FlvPlayer {
  status: number;
  bytes: number;
  ended: boolean;
  done: Promise<void>;
  abort: () => void;
}

async function playHttpFlv(url: string): Promise<FlvPlayer> {
  const ac = new AbortController();
  const res = await fetch(url, { signal: ac.signal });
  const p: FlvPlayer = {
    status: res.status,
    bytes: 0,
    ended: false,
    done: Promise.resolve(),
    abort: () => ac.abort(),
  };
  p.done = (async () => {
    const reader = res.body?.getReader();
    try {
      for (;;) {
        const r = await reader?.read();
        if (!r || r.done) break;
        p.bytes += r.value.length;
      }
    } catch {
      // aborted or reset
    } finally {
      p.ended = true;
    }
  })();
  return p;
}

const eventsOf = (c: SseClient, type: string, name?: string) =>
  c.events.filter((e) => e.event === type && (name === undefined || e.data.name === name));

// ---------------------------------------------------------------------------------------------------------------

describe('API: auth, routing, errors, config', () => {
  let t: TestServer;
  let base: string;
  beforeAll(async () => {
    t = await startTestServer({
      access: { secrets: ['a-signing-secret-0123456789'], keys: [{ key: 'the-secret-key', stream: 'cam' }] },
      webhooks: { url: 'http://user:pw@127.0.0.1:9/hook', secret: 'webhook-secret-0123456789' },
    });
    base = `http://127.0.0.1:${t.httpPort}`;
  });
  afterAll(async () => {
    await t.close();
  });

  it('401 without a token and with a wrong one, as JSON with WWW-Authenticate: Bearer', async () => {
    for (const token of [null, 'wrong-token-0123456789abcdef', `${TEST_API_TOKEN}x`]) {
      const r = await call(base, 'GET', '/api/v1/server', token);
      expect(r.status).toBe(401);
      expect(r.headers.get('content-type')).toBe('application/json');
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer\b/);
      expect(r.body).toEqual({ error: { code: 'API_UNAUTHORIZED', message: expect.any(String) } });
    }
    const basic = await fetch(`${base}/api/v1/server`, {
      headers: { authorization: `Basic ${TEST_API_TOKEN}` },
    });
    expect(basic.status).toBe(401);
    // every /api/v1 path needs the token, known or not
    expect((await call(base, 'GET', '/api/v1/nope', null)).status).toBe(401);
    expect((await call(base, 'GET', '/api/v1/openapi.json', null)).status).toBe(401);
    expect(t.server.counters.get('api_rejected', 'no-token')).toBeGreaterThanOrEqual(2);
    expect(t.server.counters.get('api_rejected', 'bad-token')).toBeGreaterThanOrEqual(2);
  });

  it('404, 405 and 400 are JSON with stable codes; responses are not cached', async () => {
    const nf = await call(base, 'GET', '/api/v1/nope');
    expect(nf.status).toBe(404);
    expect((nf.body as Json).error).toMatchObject({ code: 'API_NOT_FOUND' });
    const na = await call(base, 'PUT', '/api/v1/streams');
    expect(na.status).toBe(405);
    expect(na.headers.get('allow')).toBe('GET');
    expect((na.body as Json).error).toMatchObject({ code: 'API_METHOD_NOT_ALLOWED' });
    const bad = await call(base, 'GET', '/api/v1/streams/live/a..b');
    expect(bad.status).toBe(400);
    expect((bad.body as Json).error).toMatchObject({ code: 'API_BAD_REQUEST' });
    expect((await call(base, 'GET', '/api/v1/streams/live/%E0%A4%A')).status).toBe(400);
    expect((await call(base, 'GET', '/api/v1/events?types=publish,bogus')).status).toBe(400);
    const missing = await call(base, 'GET', '/api/v1/streams/live/missing');
    expect(missing.status).toBe(404);
    expect((missing.body as Json).error).toMatchObject({ code: 'API_STREAM_NOT_FOUND' });
    expect((await call(base, 'DELETE', '/api/v1/streams/live/missing')).status).toBe(404);
    const noSession = await call(base, 'DELETE', '/api/v1/sessions/rtmp-999999');
    expect(noSession.status).toBe(404);
    expect((noSession.body as Json).error).toMatchObject({ code: 'API_SESSION_NOT_FOUND' });
    expect((await call(base, 'GET', '/api/v1/sessions/rtmp-999999')).status).toBe(404);
    const ok = await call(base, 'GET', '/api/v1/sessions');
    expect(ok.headers.get('cache-control')).toBe('no-store');
    expect(ok.headers.get('content-type')).toBe('application/json');
    // non-API paths still reach the media routes
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });

  it('server info: version, process, ports', async () => {
    const r = await call(base, 'GET', '/api/v1/server');
    expect(r.status).toBe(200);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    const info = r.body as Json;
    expect(info).toMatchObject({
      name: 'tidecast',
      version: pkg.version,
      pid: process.pid,
      node: process.version,
      ports: { rtmp: t.rtmpPort, http: t.httpPort },
    });
    expect((info.memory as Json).rss).toBeGreaterThan(0);
    expect((info.cpu as Json).userMicros).toBeGreaterThan(0);
    expect(info.connections).toEqual({ rtmp: 0 });
  });

  it('config has every secret redacted', async () => {
    const r = await call(base, 'GET', '/api/v1/config');
    expect(r.status).toBe(200);
    const c = r.body as Json;
    expect((c.api as Json).token).toBe('***');
    expect((c.access as Json).secrets).toEqual(['***']);
    expect((c.access as Json).keys).toEqual([{ key: '***', stream: 'cam' }]);
    expect((c.webhooks as Json).secret).toBe('***');
    expect((c.webhooks as Json).url).toBe('http://***@127.0.0.1:9/hook');
    for (const secret of [TEST_API_TOKEN, 'a-signing-secret', 'the-secret-key', 'webhook-secret', ':pw@']) {
      expect(r.text).not.toContain(secret);
    }
    expect((c.rtmp as Json).port).toBe(0);
  });

  it('bans and unbans a stream key', async () => {
    expect((await call(base, 'POST', '/api/v1/keys/the-secret-key/ban')).status).toBe(204);
    expect(t.server.access.keys.isBanned('the-secret-key')).toBe(true);
    expect((await call(base, 'DELETE', '/api/v1/keys/the-secret-key/ban')).status).toBe(204);
    expect(t.server.access.keys.isBanned('the-secret-key')).toBe(false);
    const again = await call(base, 'DELETE', '/api/v1/keys/the-secret-key/ban');
    expect(again.status).toBe(404);
    expect((again.body as Json).error).toMatchObject({ code: 'API_KEY_NOT_BANNED' });
    expect((await call(base, 'POST', '/api/v1/keys/with%20space/ban')).status).toBe(400);
  });

  it('metrics need no token by default and parse as strict Prometheus text', async () => {
    const r = await call(base, 'GET', '/metrics', null);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const fams = parsePrometheus(r.text);
    expect(fams.get('process_cpu_seconds_total')?.type).toBe('counter');
    expect(fams.get('nodejs_eventloop_lag_seconds')?.type).toBe('gauge');
    expect(fams.get('nodejs_gc_duration_seconds')?.type).toBe('histogram');
    expect(promValue(fams, 'tidecast_streams_live')).toBe(0);
    expect(fams.get('tidecast_info')?.samples).toEqual([
      { name: 'tidecast_info', labels: { version: expect.any(String), node: process.version }, value: 1 },
    ]);
    expect(promValue(fams, 'tidecast_api_rejected_total', { reason: 'no-token' })).toBeGreaterThanOrEqual(2);
    expect(fams.get('tidecast_api_rejected_total')?.type).toBe('counter');
  });
});

describe.skipIf(!hasTool('ffmpeg'))('API with a live stream: streams, sessions, kicks, SSE, metrics', () => {
  let t: TestServer;
  let base: string;
  let sse: SseClient;
  let pub: FlvPublisher;
  let player: FlvPlayer;

  beforeAll(async () => {
    t = await startTestServer({
      apps: { live: { publish: 'open', play: 'open' }, keyed: { publish: 'key', play: 'open' } },
      access: { keys: [{ key: 'keyed-secret-0001', stream: 'cam', app: 'keyed' }] },
    });
    base = `http://127.0.0.1:${t.httpPort}`;
    sse = await openSse(`${base}/api/v1/events`);
    seen.push({
      method: 'GET',
      template: '/api/v1/events',
      status: sse.status,
      contentType: sse.contentType,
      body: undefined,
    });
    pub = await publishFlv(t.rtmpUrl('live/x'), media('h264-aac-360p.flv'));
    await t.waitLive('live', 'x');
    player = await playHttpFlv(t.httpUrl('live/x.flv'));
    await until(() => player.bytes > 10_000, 10_000, 'player bytes');
  });
  afterAll(async () => {
    pub?.stop();
    pub?.client.close();
    player?.abort();
    sse?.abort();
    await t.close();
  });

  it('the event stream is text/event-stream and sees connect, publish and play', async () => {
    expect(sse.status).toBe(200);
    expect(sse.contentType).toMatch(/^text\/event-stream/);
    await until(() => eventsOf(sse, 'play', 'x').length === 1, 5000, 'play event');
    expect(eventsOf(sse, 'connect').length).toBeGreaterThanOrEqual(1);
    const [publish] = eventsOf(sse, 'publish', 'x');
    expect(publish.data).toMatchObject({ type: 'publish', app: 'live', name: 'x', protocol: 'rtmp' });
    expect(eventsOf(sse, 'play', 'x')[0].data).toMatchObject({ protocol: 'http-flv' });
    expect(t.server.events.listenerCount).toBeGreaterThanOrEqual(2); // access service + this stream
  });

  it('streams list and stream detail: publisher, codecs, resolution, players, GOP, bitrates', async () => {
    const list = await call(base, 'GET', '/api/v1/streams');
    expect(list.status).toBe(200);
    const x = ((list.body as Json).streams as Json[]).find((s) => s.name === 'x') as Json;
    expect(x).toMatchObject({
      app: 'live',
      live: true,
      publisher: { protocol: 'rtmp', ip: '127.0.0.1' },
      video: { codec: expect.stringMatching(/^(avc1|h264)$/), width: 640, height: 360 },
      audio: { codec: expect.any(String) },
      players: { total: 1, byProtocol: { 'http-flv': 1 } },
    });
    expect((x.gop as Json).frames).toBeGreaterThan(0);
    expect(x.bytesIn).toBeGreaterThan(0);
    // the sampler runs every second: give it a few
    await until(() => t.server.registry.get('live', 'x')!.publishedAt < Date.now() - 2500, 5000, 'time');
    const one = await call(base, 'GET', '/api/v1/streams/live/x');
    expect(one.status).toBe(200);
    const d = one.body as Json;
    expect(d.bitrateIn).toBeGreaterThan(50_000);
    expect(d.bitrateOut).toBeGreaterThan(0);
    expect(d.bytesOut).toBeGreaterThan(10_000);
    expect(d.uptimeMs).toBeGreaterThan(2000);
    expect((d.video as Json).frameRate).toBeGreaterThan(0);
  });

  it('sessions list shows the publisher and the player', async () => {
    const r = await call(base, 'GET', '/api/v1/sessions');
    const sessions = (r.body as Json).sessions as Json[];
    expect(sessions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ protocol: 'rtmp', role: 'publisher', app: 'live', name: 'x' }),
        expect.objectContaining({ protocol: 'http-flv', role: 'player', app: 'live', name: 'x' }),
      ]),
    );
    const playerId = sessions.find((s) => s.role === 'player')?.id as string;
    const one = await call(base, 'GET', `/api/v1/sessions/${playerId}`);
    expect(one.body).toMatchObject({ id: playerId, role: 'player' });
    expect((one.body as Json).bytesOut).toBeGreaterThan(0);
  });

  it('metrics while the player plays: players gauge 1, sessions, live streams, bitrates', async () => {
    const r = await call(base, 'GET', '/metrics', null);
    const fams = parsePrometheus(r.text);
    expect(promValue(fams, 'tidecast_players', { protocol: 'http-flv' })).toBe(1);
    expect(promValue(fams, 'tidecast_streams_live')).toBe(1);
    expect(promValue(fams, 'tidecast_sessions', { protocol: 'rtmp', role: 'publisher' })).toBe(1);
    expect(promValue(fams, 'tidecast_sessions', { protocol: 'http-flv', role: 'player' })).toBe(1);
    expect(promValue(fams, 'tidecast_connections', { listener: 'rtmp' })).toBe(1);
    expect(promValue(fams, 'tidecast_session_bytes_in')).toBeGreaterThan(0);
    expect(promValue(fams, 'tidecast_session_bytes_out')).toBeGreaterThan(0);
    expect(
      promValue(fams, 'tidecast_stream_ingest_bits_per_second', { app: 'live', stream: 'x' }),
    ).toBeGreaterThan(0);
    expect(promValue(fams, 'tidecast_hls_streams')).toBe(1);
    expect(promValue(fams, 'tidecast_hls_segments')).toBeGreaterThanOrEqual(0);
    expect(promValue(fams, 'tidecast_api_event_streams')).toBe(1);
    expect(promValue(fams, 'tidecast_publish_started_total')).toBeGreaterThanOrEqual(1);
  });

  it('DELETE a session kicks the player: its connection ends, kick and stop events follow', async () => {
    const sessions = ((await call(base, 'GET', '/api/v1/sessions')).body as Json).sessions as Json[];
    const id = sessions.find((s) => s.protocol === 'http-flv')?.id as string;
    const r = await call(base, 'DELETE', `/api/v1/sessions/${id}`);
    expect(r.status).toBe(204);
    expect(r.text).toBe('');
    await until(() => player.ended, 5000, 'player connection end');
    await until(() => eventsOf(sse, 'stop', 'x').length === 1, 5000, 'stop event');
    const kick = eventsOf(sse, 'kick').find((e) => e.data.sessionId === id);
    expect(kick?.data).toMatchObject({ protocol: 'http-flv', name: 'x', reason: 'kicked' });
    expect(sse.events.indexOf(kick!)).toBeLessThan(sse.events.indexOf(eventsOf(sse, 'stop', 'x')[0]));
    expect(t.server.sessions.get(id)).toBeUndefined();
    const fams = parsePrometheus((await call(base, 'GET', '/metrics', null)).text);
    expect(promValue(fams, 'tidecast_players', { protocol: 'http-flv' }) ?? 0).toBe(0);
  });

  it('DELETE a stream kicks its publisher', async () => {
    let closed = false;
    pub.client.rawSocket.on('close', () => {
      closed = true;
    });
    const r = await call(base, 'DELETE', '/api/v1/streams/live/x');
    expect(r.status).toBe(204);
    await until(() => closed, 5000, 'publisher socket close');
    await until(() => eventsOf(sse, 'unpublish', 'x').length === 1, 5000, 'unpublish event');
    expect(eventsOf(sse, 'kick').some((e) => e.data.name === 'x' && e.data.protocol === 'rtmp')).toBe(true);
    expect(t.server.registry.get('live', 'x')?.live ?? false).toBe(false);
  });

  it('banning a key kicks the publisher it granted, and the key no longer publishes', async () => {
    const keyed = await publishFlv(t.rtmpUrl('keyed/keyed-secret-0001'), media('h264-aac-360p.flv'));
    await t.waitLive('keyed', 'cam');
    let closed = false;
    keyed.client.rawSocket.on('close', () => {
      closed = true;
    });
    const r = await call(base, 'POST', '/api/v1/keys/keyed-secret-0001/ban');
    expect(r.status).toBe(204);
    await until(() => closed, 5000, 'banned publisher close');
    expect(t.server.access.keys.isBanned('keyed-secret-0001')).toBe(true);
    await expect(
      publishFlv(t.rtmpUrl('keyed/keyed-secret-0001'), media('h264-aac-360p.flv')),
    ).rejects.toThrow();
    keyed.stop();
  });
});

describe('API: token file, disabled API, metrics with requireToken, shutdown', () => {
  it('a generated token is printed once, saved 0600 and reused on the next start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidecast-api-'));
    const file = join(dir, 'nested', 'api-token');
    const out: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    try {
      const first = await startTestServer({ api: { token: undefined, tokenFile: file } });
      const printed = out.join('');
      await first.close();
      const m = /API token \(saved to (.+)\): (\S+)\n/.exec(printed);
      expect(m?.[1]).toBe(file);
      const token = m![2];
      expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(readFileSync(file, 'utf8').trim()).toBe(token);
      expect(statSync(file).mode & 0o777).toBe(0o600);

      out.length = 0;
      const second = await startTestServer({ api: { token: undefined, tokenFile: file } });
      try {
        expect(out.join('')).not.toContain('API token');
        const base = `http://127.0.0.1:${second.httpPort}`;
        expect((await call(base, 'GET', '/api/v1/server', token)).status).toBe(200);
        expect((await call(base, 'GET', '/api/v1/server', TEST_API_TOKEN)).status).toBe(401);
      } finally {
        await second.close();
      }
    } finally {
      spy.mockRestore();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('with the API off /api/v1 is not served; metrics with requireToken need the token', async () => {
    const t = await startTestServer({ api: { enabled: false }, metrics: { requireToken: true } });
    try {
      const base = `http://127.0.0.1:${t.httpPort}`;
      const off = await fetch(`${base}/api/v1/server`, {
        headers: { authorization: `Bearer ${TEST_API_TOKEN}` },
      });
      expect(off.status).toBe(404);
      expect(off.headers.get('content-type')).toBe('text/plain');
      const denied = await call(base, 'GET', '/metrics', null);
      expect(denied.status).toBe(401);
      expect((denied.body as Json).error).toMatchObject({ code: 'API_UNAUTHORIZED' });
      expect((await call(base, 'GET', '/metrics', 'wrong-token-0123456789')).status).toBe(401);
      const ok = await call(base, 'GET', '/metrics');
      expect(ok.status).toBe(200);
      parsePrometheus(ok.text);
    } finally {
      await t.close();
    }
  });

  it('with metrics off /metrics is not served', async () => {
    const t = await startTestServer({ metrics: { enabled: false } });
    try {
      expect((await fetch(`http://127.0.0.1:${t.httpPort}/metrics`)).status).toBe(404);
      expect(t.server.api?.metrics).toBeUndefined();
    } finally {
      await t.close();
    }
  });

  it('closing the server ends open event streams', async () => {
    const t = await startTestServer();
    const sse = await openSse(`http://127.0.0.1:${t.httpPort}/api/v1/events?types=publish`);
    await until(() => sse.comments.includes('connected'), 5000, 'connected comment');
    expect(t.server.api?.sse.size).toBe(1);
    await t.close();
    await sse.ended;
    expect(t.server.api?.sse.size).toBe(0);
    expect(t.server.events.listenerCount).toBe(0);
  });
});

describe('OpenAPI document', () => {
  const ops = () => {
    const out: string[] = [];
    for (const [path, item] of Object.entries(DOC.paths as Json)) {
      for (const m of Object.keys(item as Json)) {
        if (['get', 'post', 'put', 'delete', 'patch', 'head', 'options'].includes(m))
          out.push(`${m.toUpperCase()} ${path}`);
      }
    }
    return out.sort();
  };

  it('lists exactly the routes of the router table', () => {
    expect(DOC.openapi).toBe('3.1.0');
    expect(ops()).toEqual(API_ROUTES.map((r) => `${r.method} ${r.path}`).sort());
  });

  it('is well formed: operation ids unique, path parameters declared, every $ref resolves', () => {
    const ids = new Set<string>();
    for (const [path, item] of Object.entries(DOC.paths as Json)) {
      const pathItem = item as Json;
      const declared = new Set(((pathItem.parameters as Json[]) ?? []).map((p) => p.name));
      const needed = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      for (const n of needed) expect(declared.has(n), `${path} declares {${n}}`).toBe(true);
      for (const [m, op] of Object.entries(pathItem)) {
        if (m === 'parameters') continue;
        const o = op as Json;
        expect(typeof o.operationId).toBe('string');
        expect(ids.has(o.operationId as string)).toBe(false);
        ids.add(o.operationId as string);
        expect(Object.keys(o.responses as Json).length).toBeGreaterThan(0);
      }
    }
    const walk = (n: unknown): void => {
      if (Array.isArray(n)) n.forEach(walk);
      else if (n && typeof n === 'object') {
        if (typeof (n as Json).$ref === 'string') deref(n);
        Object.values(n as Json).forEach(walk);
      }
    };
    walk(DOC);
    // the document is served as it is here
    expect(seen.some((s) => s.template === '/api/v1/openapi.json' && s.status === 401)).toBe(true);
  });

  it('the served document equals the module', async () => {
    const t = await startTestServer();
    try {
      const r = await call(`http://127.0.0.1:${t.httpPort}`, 'GET', '/api/v1/openapi.json');
      expect(r.status).toBe(200);
      expect(r.body).toEqual(DOC);
    } finally {
      await t.close();
    }
  });

  it('every status the tests got is documented for its operation, and JSON bodies fit their schema', () => {
    expect(seen.length).toBeGreaterThan(20);
    const problems: string[] = [];
    for (const s of seen) {
      const op = (DOC.paths as Json)[s.template] as Json | undefined;
      const o = op?.[s.method.toLowerCase()] as Json | undefined;
      const responses = (o?.responses ?? {}) as Json;
      const doc = responses[String(s.status)];
      if (!doc) {
        problems.push(`${s.method} ${s.template}: ${s.status} is not documented`);
        continue;
      }
      const r = deref(doc);
      const content = r.content as Json | undefined;
      if (s.status === 204) {
        if (content) problems.push(`${s.method} ${s.template}: 204 with content`);
        continue;
      }
      const mediaType = Object.keys(content ?? {}).find((k) => s.contentType.startsWith(k));
      if (!mediaType) {
        problems.push(`${s.method} ${s.template} ${s.status}: content type ${s.contentType} not documented`);
        continue;
      }
      if (s.body !== undefined) {
        const schema = ((content as Json)[mediaType] as Json).schema;
        for (const p of schemaProblems(schema, s.body))
          problems.push(`${s.method} ${s.template} ${s.status} ${p}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
