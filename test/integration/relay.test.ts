import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PullView } from '../../src/relay/pull.js';
import type { PushRuleView, RelaysView } from '../../src/relay/relay-service.js';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import { startTestServer, TEST_API_TOKEN, type TestServer } from '../helpers/server.js';
import { hasOpenssl, makeTestCert } from '../helpers/tls-cert.js';
import { ffmpegPublish, hasTool, media, run, stop } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

/**
 * Relays between real servers on loopback (several Tidecast servers in this process, ffmpeg as the source):
 * pushes to another Tidecast (with its stream-key access), a destination restarted on the same port, pushes
 * added and removed through the API (over RTMPS), static pulls from RTMP and HTTP-FLV, and edge apps (an
 * on-demand pull shared by every local player, origin failover, idle close, publish forwarding).
 */

const tools = hasTool('ffmpeg') && hasTool('ffprobe');

interface Player {
  client: RtmpClient;
  video: number;
  audio: number;
  statuses: string[];
  closed: boolean;
}

async function rtmpPlayer(url: string): Promise<Player> {
  const p = { video: 0, audio: 0, statuses: [] as string[], closed: false } as Player;
  p.client = new RtmpClient(parseRtmpUrl(url), {
    onMedia: (m) => {
      if (m.type === 9 && m.payload[1] === 1) p.video++;
      else if (m.type === 8) p.audio++;
    },
    onStatus: (i) => p.statuses.push(String(i.code)),
    onClose: () => {
      p.closed = true;
    },
  });
  await p.client.connectApp();
  void p.client.play().catch(() => {});
  return p;
}

/** Live media keeps coming (more than a cached GOP's burst): `frames` more video frames after the first ones. */
async function flowing(players: Player[], frames = 30, timeoutMs = 15_000): Promise<void> {
  await until(() => players.every((p) => p.video > 0), timeoutMs, 'first video');
  await new Promise((r) => setTimeout(r, 300)); // the GOP burst is in
  const base = players.map((p) => p.video);
  await until(() => players.every((p, i) => p.video >= base[i] + frames), timeoutMs, 'live video');
}

async function api<T>(
  t: TestServer,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(t.httpUrl(path.replace(/^\//, '')), {
    method,
    headers: { Authorization: `Bearer ${TEST_API_TOKEN}`, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
}

const relays = async (t: TestServer) => (await api<RelaysView>(t, 'GET', '/api/v1/relays')).body;
const pushRule = async (t: TestServer, id: string) => (await relays(t)).pushes.find((p) => p.id === id);
const pullOf = async (t: TestServer, app: string, name: string): Promise<PullView | undefined> =>
  (await relays(t)).pulls.find((p) => p.app === app && p.name === name);

/** Players of app/name on a server as sessions (what an upstream pull looks like on the origin). */
const playerSessions = (t: TestServer, name: string) =>
  t.server.sessions.list().filter((s) => s.role === 'player' && s.name === name);

/** A port nothing listens on (connections to it are refused). */
function deadPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const addr = s.address();
      s.close(() => resolve(typeof addr === 'object' && addr ? addr.port : 1));
    });
  });
}

async function eventually(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const QUICK_RELAYS = {
  backoffInitialMs: 200,
  backoffMaxMs: 1000,
  firstMediaTimeoutMs: 2000,
  idleGraceMs: 1000,
};

describe.skipIf(!tools)('relays between servers on loopback', () => {
  const servers: TestServer[] = [];
  const pubs: ChildProcess[] = [];
  let origin: TestServer;
  /** push destination, publish needs stream key k1 (given as ?key=) */
  let dest: TestServer;
  let destPort: number;
  let dir: string;

  const start = async (overrides: Record<string, unknown>) => {
    const t = await startTestServer({ hls: { enabled: false }, ...overrides });
    servers.push(t);
    return t;
  };
  const destConfig = (port: number) => ({
    rtmp: { port },
    apps: { live: { publish: 'key', play: 'open' } },
    access: { keys: [{ key: 'k1', stream: 'p1' }] },
  });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tidecast-relay-'));
    dest = await start(destConfig(0));
    destPort = dest.rtmpPort;
    origin = await start({
      relays: {
        ...QUICK_RELAYS,
        push: [
          {
            id: 'to-dest',
            app: 'live',
            stream: 'p1',
            url: `rtmp://127.0.0.1:${destPort}/live/{name}?key=k1`,
          },
        ],
      },
    });
    pubs.push(ffmpegPublish(origin.rtmpUrl('live/p1'), media('h264-aac-360p.flv')));
    pubs.push(ffmpegPublish(origin.rtmpUrl('live/p2'), media('h264-aac-360p.flv')));
    await Promise.all([origin.waitLive('live', 'p1'), origin.waitLive('live', 'p2')]);
  });

  afterAll(async () => {
    await Promise.all(pubs.map((p) => stop(p)));
    await Promise.all(servers.map((s) => s.close()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('push: a stream published to the origin goes live on the destination (through its key access)', async () => {
    await dest.waitLive('live', 'p1');
    expect(dest.server.registry.get('live', 'p1')?.publisher?.protocol).toBe('rtmp');
    const probe = await run(
      'ffprobe',
      [
        '-v',
        'error',
        '-show_entries',
        'stream=codec_name',
        '-of',
        'csv=p=0',
        `rtmp://127.0.0.1:${destPort}/live/p1`,
      ],
      20_000,
    );
    expect(probe.stdout.split('\n').filter(Boolean).sort()).toEqual(['aac', 'h264']);
    const rule = (await pushRule(origin, 'to-dest')) as PushRuleView;
    expect(rule.source).toBe('config');
    expect(rule.url).toBe(`rtmp://127.0.0.1:${destPort}/live/{name}?key=***`);
    expect(rule.sessions).toHaveLength(1);
    expect(rule.sessions[0]).toMatchObject({ app: 'live', name: 'p1', state: 'publishing', retries: 0 });
    expect(rule.sessions[0].bytes).toBeGreaterThan(0);
    // only p1 matches the rule
    expect(dest.server.registry.get('live', 'p2')).toBeUndefined();
  });

  it('push: a restarted destination is reconnected automatically; the API shows the retries', async () => {
    await dest.waitLive('live', 'p1');
    await dest.close();
    servers.splice(servers.indexOf(dest), 1);
    await eventually(
      async () => ((await pushRule(origin, 'to-dest'))?.sessions[0]?.retries ?? 0) > 0,
      10_000,
      'a retry',
    );
    const down = (await pushRule(origin, 'to-dest'))?.sessions[0];
    expect(['backoff', 'connecting']).toContain(down?.state);
    expect(down?.lastError).toBeTruthy();
    dest = await start(destConfig(destPort));
    expect(dest.rtmpPort).toBe(destPort);
    await dest.waitLive('live', 'p1', 20_000);
    await eventually(
      async () => (await pushRule(origin, 'to-dest'))?.sessions[0]?.state === 'publishing',
      10_000,
      'publishing again',
    );
    const s = (await pushRule(origin, 'to-dest'))?.sessions[0];
    expect(s?.retries).toBeGreaterThan(0);
    const p = await rtmpPlayer(dest.rtmpUrl('live/p1'));
    await flowing([p]);
    p.client.close();
    expect(origin.server.counters.snapshot()['relay_push_closed{peer-closed}']).toBeGreaterThan(0);
  });

  it.skipIf(!hasOpenssl())('push over RTMPS, added and removed through the API', async () => {
    const cert = makeTestCert(dir);
    const secure = await start({
      rtmps: { enabled: true, port: 0 },
      tls: { certFile: cert.certFile, keyFile: cert.keyFile, watch: false },
    });
    const rtmpsPort = secure.server.ports.rtmps as number;
    // the origin verifies certificates (relays.tlsVerify): this one is self-signed, so it is refused ...
    const refused = await api<PushRuleView>(origin, 'POST', '/api/v1/relays/pushes', {
      id: 'tls-refused',
      app: 'live',
      stream: 'p2',
      url: `rtmps://127.0.0.1:${rtmpsPort}/live/refused`,
    });
    expect(refused.status).toBe(201);
    await eventually(
      async () => ((await pushRule(origin, 'tls-refused'))?.sessions[0]?.retries ?? 0) > 0,
      10_000,
      'a refused TLS push',
    );
    expect((await pushRule(origin, 'tls-refused'))?.sessions[0]?.lastError).toMatch(/socket-error|closed/);
    expect(secure.server.registry.get('live', 'refused')?.live ?? false).toBe(false);
    expect((await api(origin, 'DELETE', '/api/v1/relays/pushes/tls-refused')).status).toBe(204);

    // ... while a server that trusts it (relays.tlsCaFile) pushes fine
    const trusting = await start({ relays: { ...QUICK_RELAYS, tlsCaFile: cert.certFile } });
    const src = ffmpegPublish(trusting.rtmpUrl('live/s1'), media('h264-aac-360p.flv'));
    pubs.push(src);
    await trusting.waitLive('live', 's1');
    const added = await api<PushRuleView>(trusting, 'POST', '/api/v1/relays/pushes', {
      app: 'live',
      url: `rtmps://127.0.0.1:${rtmpsPort}/live/{name}-copy`,
    });
    expect(added.status).toBe(201);
    expect(added.body.id).toMatch(/^api-\d+$/);
    expect(added.body.source).toBe('api');
    await secure.waitLive('live', 's1-copy', 20_000);
    expect(secure.server.registry.get('live', 's1-copy')?.publisher?.protocol).toBe('rtmps');
    const dup = await api(trusting, 'POST', '/api/v1/relays/pushes', {
      id: added.body.id,
      app: 'live',
      url: 'rtmp://127.0.0.1:1/live/x',
    });
    expect(dup.status).toBe(409);
    const bad = await api(trusting, 'POST', '/api/v1/relays/pushes', { app: 'live', url: 'http://x/y' });
    expect(bad.status).toBe(400);

    expect((await api(trusting, 'DELETE', `/api/v1/relays/pushes/${added.body.id}`)).status).toBe(204);
    await until(
      () => !secure.server.registry.get('live', 's1-copy')?.live,
      10_000,
      'the pushed stream to end',
    );
    expect((await api(trusting, 'DELETE', `/api/v1/relays/pushes/${added.body.id}`)).status).toBe(404);
    expect((await relays(trusting)).pushes).toHaveLength(0);
  });

  it('static pulls: from rtmp:// and from HTTP-FLV (always on), and one on demand', async () => {
    const puller = await start({
      relays: {
        ...QUICK_RELAYS,
        pull: [
          { app: 'live', name: 'from-rtmp', urls: [origin.rtmpUrl('live/p1')] },
          { app: 'live', name: 'from-flv', urls: [origin.httpUrl('live/p1.flv')] },
          { app: 'live', name: 'od', urls: [origin.httpUrl('live/p2.flv')], mode: 'on-demand' },
        ],
      },
    });
    await Promise.all([puller.waitLive('live', 'from-rtmp'), puller.waitLive('live', 'from-flv')]);
    const players = await Promise.all([
      rtmpPlayer(puller.rtmpUrl('live/from-rtmp')),
      rtmpPlayer(puller.rtmpUrl('live/from-flv')),
    ]);
    await flowing(players);
    expect(players.every((p) => p.audio > 0)).toBe(true);
    for (const p of players) p.client.close();
    const view = await pullOf(puller, 'live', 'from-flv');
    expect(view).toMatchObject({ kind: 'static', mode: 'always', state: 'live' });
    expect(view?.bytes).toBeGreaterThan(0);
    expect(puller.server.registry.get('live', 'from-rtmp')?.publisher?.protocol).toBe('relay-pull');
    const info = puller.server.registry.get('live', 'from-rtmp')?.info;
    expect(info?.videoCodec).toBeTruthy();

    // on demand: idle until a player asks, idle again after the last one left (+ grace)
    expect(await pullOf(puller, 'live', 'od')).toMatchObject({
      state: 'idle',
      mode: 'on-demand',
      players: 0,
    });
    expect(puller.server.registry.get('live', 'od')).toBeUndefined();
    const od = await rtmpPlayer(puller.rtmpUrl('live/od'));
    await flowing([od]);
    expect(await pullOf(puller, 'live', 'od')).toMatchObject({ state: 'live', players: 1 });
    od.client.close();
    await eventually(
      async () => (await pullOf(puller, 'live', 'od'))?.state === 'idle',
      10_000,
      'idle again',
    );
    expect(puller.server.registry.get('live', 'od')).toBeUndefined();
  });

  describe('edge', () => {
    let edge: TestServer;
    let empty: TestServer;

    beforeAll(async () => {
      const dead = await deadPort(); // nothing listens here: connection refused
      empty = await start({}); // a Tidecast without the stream
      edge = await start({
        apps: { edge: { publish: 'open', play: 'open' } },
        streams: { playerWaitMs: 6000 },
        relays: {
          ...QUICK_RELAYS,
          edge: {
            edge: {
              origins: [
                `rtmp://127.0.0.1:${dead}/live`,
                `rtmp://127.0.0.1:${empty.rtmpPort}/live`,
                `rtmp://127.0.0.1:${origin.rtmpPort}/live`,
              ],
            },
          },
        },
      });
    });

    it('players on the edge share one on-demand pull, found on the third origin', async () => {
      expect(edge.server.registry.get('edge', 'p2')).toBeUndefined();
      expect(playerSessions(origin, 'p2')).toHaveLength(0);
      const players = await Promise.all([1, 2, 3].map(() => rtmpPlayer(edge.rtmpUrl('edge/p2'))));
      await flowing(players, 30, 20_000);
      expect(players.every((p) => p.statuses.includes('NetStream.Play.Start'))).toBe(true);
      // one upstream connection for the three players
      expect(playerSessions(origin, 'p2')).toHaveLength(1);
      expect(edge.server.registry.playerCount('edge', 'p2')).toBe(3);
      const view = await pullOf(edge, 'edge', 'p2');
      expect(view).toMatchObject({ kind: 'edge', mode: 'on-demand', state: 'live', urls: 3, players: 3 });
      expect(view?.url).toBe(`rtmp://127.0.0.1:${origin.rtmpPort}/live/p2`);
      const closed = edge.server.counters.snapshot();
      expect(closed['relay_pull_closed{socket-error:ECONNREFUSED}']).toBe(1);
      expect(closed['relay_pull_closed{no-media}']).toBe(1);
      // a fourth player joins the live pull without another upstream connection
      const late = await rtmpPlayer(edge.rtmpUrl('edge/p2'));
      await until(() => late.video >= 5, 10_000, 'media on a late player');
      expect(playerSessions(origin, 'p2')).toHaveLength(1);
      for (const p of [...players, late]) p.client.close();

      // after the last player and the grace period the pull closes
      await until(
        () => edge.server.registry.get('edge', 'p2') === undefined,
        10_000,
        'the edge stream to go',
      );
      await until(() => playerSessions(origin, 'p2').length === 0, 10_000, 'the upstream player to go');
      expect((await pullOf(edge, 'edge', 'p2')) ?? null).toBeNull();
      expect(edge.server.counters.snapshot()['relay_pull_closed{idle}']).toBe(1);
    });

    it('a stream no origin has: the players get StreamNotFound after the wait', async () => {
      const p = await rtmpPlayer(edge.rtmpUrl('edge/nowhere'));
      await until(() => p.statuses.includes('NetStream.Play.StreamNotFound'), 20_000, 'not found');
      await until(() => edge.server.registry.get('edge', 'nowhere') === undefined, 5_000, 'cleanup');
      await eventually(
        async () => (await pullOf(edge, 'edge', 'nowhere')) === undefined,
        10_000,
        'pull gone',
      );
    });

    it('publish forwarding: a stream published to the edge is pushed to the origin', async () => {
      const fwdEdge = await start({
        apps: { edge: { publish: 'open', play: 'open' } },
        relays: {
          ...QUICK_RELAYS,
          edge: { edge: { origins: [`rtmp://127.0.0.1:${origin.rtmpPort}/live`], forwardPublish: true } },
        },
      });
      const src = ffmpegPublish(fwdEdge.rtmpUrl('edge/fwd'), media('h264-aac-360p.flv'));
      pubs.push(src);
      await fwdEdge.waitLive('edge', 'fwd');
      await origin.waitLive('live', 'fwd', 20_000);
      const rule = await pushRule(fwdEdge, 'edge:edge');
      expect(rule?.source).toBe('edge');
      expect(rule?.sessions[0]?.state).toBe('publishing');
      // a player of the forwarded stream on the same edge is served locally, not pulled back
      const p = await rtmpPlayer(fwdEdge.rtmpUrl('edge/fwd'));
      await until(() => p.video >= 5, 10_000, 'local media');
      p.client.close();
      expect((await relays(fwdEdge)).pulls).toHaveLength(0);
      await stop(src);
      await until(
        () => !origin.server.registry.get('live', 'fwd')?.live,
        10_000,
        'the forwarded stream to end',
      );
    });
  });
});
