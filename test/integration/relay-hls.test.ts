import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUrl } from '../../src/access/signed-url.js';
import type { PullView } from '../../src/relay/pull.js';
import type { RelaysView } from '../../src/relay/relay-service.js';
import { publishFlv } from '../helpers/flv-publisher.js';
import { startTestServer, TEST_API_TOKEN, type TestServer } from '../helpers/server.js';
import { hasTool, media, run } from '../helpers/tools.js';

/**
 * HLS and DASH viewers create demand on an edge like RTMP/FLV players do (servers on loopback in this process):
 * a playlist/MPD request for a stream that is not live on the edge opens one pull from the origin and waits for
 * the first segment; the viewers' requests keep the pull, which closes after they stop (lease, then
 * relays.idleGraceMs). Streams of other apps answer 404 at once, and a request the access check refuses starts
 * nothing.
 */

const SECRET = 'relay-hls-test-secret-0123456789abcdef';
const GRACE_MS = 1500;
const QUICK_RELAYS = {
  backoffInitialMs: 200,
  backoffMaxMs: 1000,
  firstMediaTimeoutMs: 2000,
  idleGraceMs: GRACE_MS,
};

interface Looping {
  client: unknown;
  stop: () => void;
}

/** Our RTMP client publishing the test file in real time, looped (timestamps keep rising) until stop(). */
async function loopPublish(url: string): Promise<Looping> {
  const p = await publishFlv(url, media('h264-aac-360p.flv'), { loop: true });
  return {
    client: p.client,
    stop: () => {
      p.stop();
      p.client.close();
    },
  };
}

interface Got {
  status: number;
  text: string;
  ms: number;
}

async function get(t: TestServer, path: string): Promise<Got> {
  const t0 = Date.now();
  const r = await fetch(t.httpUrl(path));
  return { status: r.status, text: await r.text(), ms: Date.now() - t0 };
}

/**
 * GETs `path` until it answers 200 (through 503 "not ready yet") with a whole segment listed (a first LL-HLS
 * playlist may list parts only); any other status fails.
 */
async function ready(t: TestServer, path: string, timeoutMs = 20_000): Promise<Got> {
  const end = Date.now() + timeoutMs;
  const complete = (g: Got) => !path.split('?')[0].endsWith('.m3u8') || segmentsOf(g.text).length > 0;
  for (;;) {
    const g = await get(t, path);
    if (g.status === 200 && complete(g)) return g;
    if (g.status !== 200 && g.status !== 503) throw new Error(`${path}: ${g.status} ${g.text}`);
    if (Date.now() > end) throw new Error(`${path}: not ready after ${timeoutMs} ms (${g.status})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function eventually(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string) {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function pulls(t: TestServer): Promise<PullView[]> {
  const r = await fetch(t.httpUrl('api/v1/relays'), {
    headers: { Authorization: `Bearer ${TEST_API_TOKEN}` },
  });
  return ((await r.json()) as RelaysView).pulls;
}

/** Upstream connections for `name` on the origin (a pull is a player there). */
const upstreams = (origin: TestServer, name: string) =>
  origin.server.sessions.list().filter((s) => s.role === 'player' && s.name === name).length;

const segmentsOf = (playlist: string) => playlist.split('\n').filter((l) => /^seg\d+\.m4s/.test(l));

function signedQuery(stream: string): string {
  const url = signUrl({ secret: SECRET, path: `/${stream}`, expires: Math.floor(Date.now() / 1000) + 300 });
  return url.slice(url.indexOf('?') + 1);
}

describe.skipIf(!hasTool('ffprobe'))('HLS/DASH viewers create demand on an edge', () => {
  const servers: TestServer[] = [];
  let pub: Looping;
  let origin: TestServer;
  let edge: TestServer;

  const edgeConfig = (originPort: number, hls: Record<string, unknown> = {}) => ({
    apps: {
      live: { publish: 'open', play: 'open' },
      edge: { publish: 'deny', play: 'open' },
      sedge: { publish: 'deny', play: 'signed' },
    },
    access: { secrets: [SECRET] },
    hls: { targetDuration: 1, ...hls },
    streams: { playerWaitMs: 6000 },
    relays: {
      ...QUICK_RELAYS,
      edge: {
        edge: { origins: [`rtmp://127.0.0.1:${originPort}/live`] },
        sedge: { origins: [`rtmp://127.0.0.1:${originPort}/live`] },
      },
    },
  });

  beforeAll(async () => {
    origin = await startTestServer({ hls: { enabled: false } });
    servers.push(origin);
    pub = await loopPublish(origin.rtmpUrl('live/cam'));
    await origin.waitLive('live', 'cam');
    edge = await startTestServer(edgeConfig(origin.rtmpPort));
    servers.push(edge);
  });

  afterAll(async () => {
    pub?.stop();
    await Promise.all(servers.map((s) => s.close()));
  });

  let firstPullId = '';

  it('a playlist request starts one pull, shared by concurrent viewers; the playlist and segments play', async () => {
    expect(edge.server.registry.get('edge', 'cam')).toBeUndefined();
    expect(upstreams(origin, 'cam')).toBe(0);
    // three viewers at once: their first requests wait for the pull and its first media (no 404, no 503)
    const answers = await Promise.all([1, 2, 3].map(() => get(edge, 'edge/cam/index.m3u8')));
    expect(answers.map((g) => g.status)).toEqual([200, 200, 200]);
    expect(answers[0].text.startsWith('#EXTM3U')).toBe(true);
    const first = await Promise.all([1, 2, 3].map(() => ready(edge, 'edge/cam/index.m3u8')));
    for (const g of first) {
      expect(g.text.startsWith('#EXTM3U')).toBe(true);
      expect(segmentsOf(g.text).length).toBeGreaterThan(0);
    }
    expect(upstreams(origin, 'cam')).toBe(1);
    const list = (await pulls(edge)).filter((p) => p.app === 'edge' && p.name === 'cam');
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ kind: 'edge', mode: 'on-demand', state: 'live' });
    firstPullId = list[0].id;
    expect(edge.server.registry.get('edge', 'cam')?.publisher?.protocol).toBe('relay-pull');

    const seg = segmentsOf(first[0].text).at(-1);
    const s = await fetch(edge.httpUrl(`edge/cam/${seg}`));
    expect(s.status).toBe(200);
    expect((await s.arrayBuffer()).byteLength).toBeGreaterThan(0);
    const probe = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_name',
      '-of',
      'csv=p=0',
      edge.httpUrl('edge/cam/index.m3u8'),
    ]);
    expect(probe.code, probe.stderr).toBe(0);
    expect(probe.stdout.split('\n').filter(Boolean)).toContain('h264');
    expect(upstreams(origin, 'cam')).toBe(1);
  });

  it('the pull stays while a viewer keeps polling, and closes after it stops (lease + idle grace)', async () => {
    // poll for longer than the lease (3 target durations) plus the idle grace: the pull must not close
    const until = Date.now() + 3000 + GRACE_MS + 2500;
    while (Date.now() < until) {
      const g = await get(edge, 'edge/cam/index.m3u8');
      expect(g.status).toBe(200);
      const seg = segmentsOf(g.text).at(-1);
      if (seg) expect((await fetch(edge.httpUrl(`edge/cam/${seg}`))).status).toBe(200);
      await sleep(400);
    }
    const still = (await pulls(edge)).find((p) => p.app === 'edge' && p.name === 'cam');
    expect(still).toMatchObject({ id: firstPullId, state: 'live' });
    expect(upstreams(origin, 'cam')).toBe(1);
    expect(edge.server.counters.get('relay_pull_closed', 'idle')).toBe(0);

    const stoppedAt = Date.now();
    await eventually(
      () => edge.server.registry.get('edge', 'cam') === undefined,
      15_000,
      'the pull to close',
    );
    expect(Date.now() - stoppedAt).toBeGreaterThanOrEqual(GRACE_MS);
    expect(edge.server.counters.get('relay_pull_closed', 'idle')).toBe(1);
    await eventually(() => upstreams(origin, 'cam') === 0, 5000, 'the upstream to go');
    await eventually(
      async () => !(await pulls(edge)).some((p) => p.app === 'edge' && p.name === 'cam'),
      5000,
      'the pull to be gone from the API',
    );
  });

  it('a DASH MPD request starts the pull too (again, after it closed), and it closes when DASH stops', async () => {
    expect(upstreams(origin, 'cam')).toBe(0);
    const g = await ready(edge, 'edge/cam/index.mpd');
    expect(g.text).toMatch(/<MPD[\s>]/);
    expect(g.text).toMatch(/type="dynamic"/);
    expect(upstreams(origin, 'cam')).toBe(1);
    // the HLS playlist kept from the first pull goes on (no EXT-X-ENDLIST)
    const pl = await ready(edge, 'edge/cam/index.m3u8');
    expect(pl.text).not.toContain('#EXT-X-ENDLIST');
    expect(upstreams(origin, 'cam')).toBe(1);
    await eventually(
      () => edge.server.registry.get('edge', 'cam') === undefined,
      15_000,
      'the pull to close',
    );
    expect(edge.server.counters.get('relay_pull_closed', 'idle')).toBe(2);
    await eventually(() => upstreams(origin, 'cam') === 0, 5000, 'the upstream to go');
  });

  it('an unknown stream of an app that is not an edge answers 404 at once, creating no demand', async () => {
    for (const path of ['live/nothing/index.m3u8', 'live/nothing/index.mpd']) {
      const g = await get(edge, path);
      expect(g.status, path).toBe(404);
      expect(g.ms, path).toBeLessThan(500);
    }
    expect(edge.server.registry.get('live', 'nothing')).toBeUndefined();
    expect((await pulls(edge)).filter((p) => p.name === 'nothing')).toEqual([]);
  });

  it('a stream no origin has: the request waits a bounded time, then 503 + Retry-After; the pull ends', async () => {
    const g = await get(edge, 'edge/nowhere/index.m3u8');
    expect(g.status).toBe(503);
    expect(g.ms).toBeGreaterThanOrEqual(QUICK_RELAYS.firstMediaTimeoutMs);
    expect(g.ms).toBeLessThan(QUICK_RELAYS.firstMediaTimeoutMs + 2 * 1000 + 1500);
    const r = await fetch(edge.httpUrl('edge/nowhere/index.mpd'));
    expect(r.status).toBe(503);
    expect(r.headers.get('retry-after')).toBe('1');
    await r.text();
    await eventually(
      async () => !(await pulls(edge)).some((p) => p.name === 'nowhere'),
      15_000,
      'the pull to end',
    );
    await eventually(() => edge.server.registry.get('edge', 'nowhere') === undefined, 5000, 'cleanup');
    await eventually(() => upstreams(origin, 'nowhere') === 0, 5000, 'no upstream left');
  });

  it('a request the access check refuses starts no pull; a signed one does', async () => {
    const before = upstreams(origin, 'cam');
    const unsigned = await get(edge, 'sedge/cam/index.m3u8');
    expect(unsigned.status).toBe(403);
    const tampered = new URLSearchParams(signedQuery('sedge/cam'));
    const token = tampered.get('token') ?? '';
    tampered.set('token', (token[0] === 'A' ? 'B' : 'A') + token.slice(1));
    expect((await get(edge, `sedge/cam/index.m3u8?${tampered}`)).status).toBe(403);
    expect((await get(edge, 'sedge/cam/index.mpd')).status).toBe(403);
    // segment requests without a media token do not count either
    expect((await get(edge, 'sedge/cam/seg1.m4s')).status).toBe(403);
    await sleep(500);
    expect(edge.server.registry.get('sedge', 'cam')).toBeUndefined();
    expect((await pulls(edge)).filter((p) => p.app === 'sedge')).toEqual([]);
    expect(upstreams(origin, 'cam')).toBe(before);

    const g = await ready(edge, `sedge/cam/index.m3u8?${signedQuery('sedge/cam')}`);
    expect(segmentsOf(g.text).length).toBeGreaterThan(0);
    expect((await pulls(edge)).filter((p) => p.app === 'sedge')).toHaveLength(1);
  });

  it('with hls.startOn: request, a playlist request on the edge still pulls and segments', async () => {
    const lazy = await startTestServer(edgeConfig(origin.rtmpPort, { startOn: 'request' }));
    servers.push(lazy);
    const g = await ready(lazy, 'edge/cam/index.m3u8');
    expect(segmentsOf(g.text).length).toBeGreaterThan(0);
    expect(lazy.server.registry.get('edge', 'cam')?.live).toBe(true);
    expect((await pulls(lazy)).filter((p) => p.app === 'edge' && p.name === 'cam')).toHaveLength(1);
    expect((await get(lazy, 'live/nothing/index.m3u8')).status).toBe(404);
  });
});
