import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionView } from '../../src/core/sessions.js';
import type { RelaysView } from '../../src/relay/relay-service.js';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import {
  type ConfigFile,
  freePort,
  killAllTidecast,
  TidecastProcess,
  tcpOpen,
  writeConfig,
} from '../helpers/tidecast-process.js';
import { ffmpegPublish, hasTool, media, run, stop } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

/**
 * Relays between Tidecast servers that are each their own OS process (`node --import tsx src/main.ts --config
 * <file>`, as a user starts it), on loopback: ffmpeg publishes to origin B; an edge E whose app `live` lists
 * origins [A, B] (A does not have the stream) pulls it on demand from B, once for all its players; B pushes the
 * stream to A (added through B's API), A is SIGKILLed and restarted on the same ports and the push reconnects;
 * SIGTERM stops every process with exit code 0.
 */

const tools = hasTool('ffmpeg') && hasTool('ffprobe');
if (!tools) {
  console.warn(
    '\n*** test/interop/multi-process.test.ts is SKIPPED: it needs ffmpeg and ffprobe (run .ci/run). ***\n',
  );
}

interface StreamView {
  app: string;
  name: string;
  live: boolean;
  publisher: { id: string; protocol: string; ip: string } | null;
  video: { codec: string } | null;
}

interface Player {
  client: RtmpClient;
  startedAt: number;
  firstVideoAt: number;
  lastVideoAt: number;
  /** longest time between two video frames (a stall) */
  maxGapMs: number;
  video: number;
  statuses: string[];
  closed: boolean;
}

const clients: RtmpClient[] = [];

async function rtmpPlayer(url: string): Promise<Player> {
  const p: Player = {
    startedAt: Date.now(),
    firstVideoAt: 0,
    lastVideoAt: 0,
    maxGapMs: 0,
    video: 0,
    statuses: [],
    closed: false,
  } as unknown as Player;
  p.client = new RtmpClient(parseRtmpUrl(url), {
    onMedia: (m) => {
      // video frames (not the sequence header)
      if (m.type === 9 && m.payload[1] === 1) {
        const now = Date.now();
        p.video++;
        if (p.firstVideoAt === 0) p.firstVideoAt = now;
        else p.maxGapMs = Math.max(p.maxGapMs, now - p.lastVideoAt);
        p.lastVideoAt = now;
      }
    },
    onStatus: (i) => p.statuses.push(String(i.code)),
    onClose: () => {
      p.closed = true;
    },
  });
  clients.push(p.client);
  await p.client.connectApp();
  void p.client.play().catch(() => {});
  return p;
}

/** Live media keeps coming (more than a cached GOP's burst) to every player. */
async function flowing(players: Player[], frames = 30, timeoutMs = 20_000): Promise<void> {
  await until(() => players.every((p) => p.video > 0 || p.closed), timeoutMs, 'first video');
  expect(players.map((p) => p.closed)).not.toContain(true);
  await new Promise((r) => setTimeout(r, 300)); // the GOP burst is in
  const base = players.map((p) => p.video);
  await until(() => players.every((p, i) => p.video >= base[i] + frames), timeoutMs, 'live video');
}

/** Codec names ffprobe finds at `url`, sorted. */
async function probe(url: string): Promise<string[]> {
  const r = await run(
    'ffprobe',
    ['-v', 'error', '-rw_timeout', '15000000', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', url],
    25_000,
  );
  return r.stdout
    .split('\n')
    .map((s) => s.trim().replace(/,$/, ''))
    .filter(Boolean)
    .sort();
}

async function eventually(cond: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const ok = await cond().catch(() => false);
    if (ok) return;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const streamOf = async (p: TidecastProcess, app: string, name: string) =>
  (await p.get<{ streams: StreamView[] }>('api/v1/streams')).streams.find(
    (s) => s.app === app && s.name === name,
  );
const isLive = async (p: TidecastProcess, app: string, name: string) =>
  (await streamOf(p, app, name))?.live === true;
/** Players of app/name on a server, as its API lists them (an edge's upstream pull is one of these). */
const playerSessions = async (p: TidecastProcess, name: string) =>
  (await p.get<{ sessions: SessionView[] }>('api/v1/sessions')).sessions.filter(
    (s) => s.role === 'player' && s.app === 'live' && s.name === name,
  );
const relays = (p: TidecastProcess) => p.get<RelaysView>('api/v1/relays');
const metrics = async (p: TidecastProcess) => (await fetch(p.httpUrl('metrics'))).text();

const QUICK_RELAYS = {
  backoffInitialMs: 200,
  backoffMaxMs: 1000,
  firstMediaTimeoutMs: 2000,
  idleGraceMs: 1000,
};

const timings: Record<string, number> = {};

describe.skipIf(!tools)('relays between Tidecast processes on loopback', { timeout: 60_000 }, () => {
  let cfgA: ConfigFile;
  let a: TidecastProcess;
  let b: TidecastProcess;
  let e: TidecastProcess;
  let publisher: ChildProcess | undefined;

  beforeAll(async () => {
    const [aRtmp, aHttp, bRtmp, bHttp, eRtmp, eHttp] = await Promise.all(
      Array.from({ length: 6 }, () => freePort()),
    );
    const base = (rtmpPort: number, httpPort: number) => ({
      host: '127.0.0.1',
      rtmp: { port: rtmpPort },
      http: { port: httpPort },
      log: { level: 'warn' },
      hls: { enabled: false },
      apps: { live: { publish: 'open', play: 'open' } },
    });
    // origin A: an ordinary server that does not have the stream (yet)
    cfgA = writeConfig('origin-a', { ...base(aRtmp, aHttp), relays: QUICK_RELAYS });
    // origin B: ffmpeg publishes live/cam here (JSON config, to read both formats)
    const cfgB = writeConfig('origin-b', { ...base(bRtmp, bHttp), relays: QUICK_RELAYS }, 'json');
    // edge E: app live is an edge app over [A, B], in that order
    const cfgE = writeConfig('edge-e', {
      ...base(eRtmp, eHttp),
      apps: { live: { publish: 'deny', play: 'open' } },
      // players stay attached while the edge fails over to the next origin
      streams: { reconnectWaitMs: 8000 },
      relays: {
        ...QUICK_RELAYS,
        edge: {
          live: { origins: [`rtmp://127.0.0.1:${aRtmp}/live`, `rtmp://127.0.0.1:${bRtmp}/live`] },
        },
      },
    });
    const t0 = Date.now();
    [a, b, e] = await Promise.all([
      TidecastProcess.start('origin-a', cfgA),
      TidecastProcess.start('origin-b', cfgB),
      TidecastProcess.start('edge-e', cfgE),
    ]);
    timings['start 3 processes (ms)'] = Date.now() - t0;
    expect(new Set([a.pid, b.pid, e.pid]).size).toBe(3);
    for (const p of [a, b, e]) expect(p.out.stdout).toContain('Tidecast is running');
  });

  afterAll(async () => {
    for (const c of clients.splice(0)) c.close();
    if (publisher) await stop(publisher, 'SIGKILL');
    await killAllTidecast();
    console.log(
      `[multi-process] timings: ${Object.entries(timings)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
    );
  });

  it('an edge pulls on demand from the second origin, once for all its players', async () => {
    publisher = ffmpegPublish(b.rtmpUrl('live/cam'), media('h264-aac-360p.flv'));
    await eventually(() => isLive(b, 'live', 'cam'), 15_000, 'live/cam live on origin B');
    expect((await streamOf(b, 'live', 'cam'))?.publisher?.protocol).toBe('rtmp');
    expect(await streamOf(a, 'live', 'cam')).toBeUndefined();
    expect(await streamOf(e, 'live', 'cam')).toBeUndefined();
    expect((await relays(e)).pulls).toHaveLength(0);

    // three players on the edge: the first one starts the pull (A is tried first, sends nothing, then B)
    const players = await Promise.all([1, 2, 3].map(() => rtmpPlayer(e.rtmpUrl('live/cam'))));
    await flowing(players);
    const first = Math.min(...players.map((p) => p.firstVideoAt - p.startedAt));
    timings['edge: first video after play, failover A->B (ms)'] = first;
    expect(players.every((p) => p.statuses.includes('NetStream.Play.Start'))).toBe(true);

    // ffprobe on the edge too (a fourth player of the same pull)
    const codecs = await probe(e.rtmpUrl('live/cam'));
    expect(codecs).toContain('h264');
    expect(codecs).toContain('aac');

    // B sees exactly one player of live/cam: the edge's pull, shared by every player on E
    expect(await playerSessions(b, 'cam')).toHaveLength(1);
    // A got the first try and is left with nothing
    await eventually(async () => (await playerSessions(a, 'cam')).length === 0, 5_000, 'A without players');
    const es = await streamOf(e, 'live', 'cam');
    expect(es?.live).toBe(true);
    expect(es?.publisher?.protocol).toBe('relay-pull');
    expect(es?.video?.codec).toMatch(/h264|avc/i);
    const view = await relays(e);
    expect(view.edges).toEqual([
      {
        app: 'live',
        origins: [`rtmp://127.0.0.1:${a.rtmpPort}/live`, `rtmp://127.0.0.1:${b.rtmpPort}/live`],
        forwardPublish: false,
      },
    ]);
    expect(view.pulls).toHaveLength(1);
    expect(view.pulls[0]).toMatchObject({
      kind: 'edge',
      app: 'live',
      name: 'cam',
      state: 'live',
      players: 3,
    });
    expect(view.pulls[0].url).toBe(`rtmp://127.0.0.1:${b.rtmpPort}/live/cam`);
    expect(view.pulls[0].bytes).toBeGreaterThan(0);
    // the failover is counted: A answered the play but sent no media
    expect(await metrics(e)).toMatch(/tidecast_relay_pull_closed_total\{reason="no-media"\} [1-9]/);

    // the players leave; after idleGraceMs the edge closes its pull and B loses its player
    for (const p of players) p.client.close();
    await eventually(async () => (await relays(e)).pulls.length === 0, 10_000, 'the edge pull to stop');
    await eventually(async () => (await playerSessions(b, 'cam')).length === 0, 10_000, 'B without players');
  });

  it('B pushes to A (added through the API); A killed and restarted: the push reconnects', async () => {
    const added = await b.api<{ id: string }>('POST', 'api/v1/relays/pushes', {
      id: 'to-a',
      app: 'live',
      stream: 'cam',
      url: `rtmp://127.0.0.1:${a.rtmpPort}/live/{name}`,
    });
    expect(added.status).toBe(201);
    expect(added.body.id).toBe('to-a');
    await eventually(() => isLive(a, 'live', 'cam'), 15_000, 'the pushed stream live on A');
    expect((await streamOf(a, 'live', 'cam'))?.publisher?.protocol).toBe('rtmp');
    expect(await probe(a.rtmpUrl('live/cam'))).toContain('h264');
    let rule = (await relays(b)).pushes.find((p) => p.id === 'to-a');
    expect(rule?.source).toBe('api');
    expect(rule?.sessions).toHaveLength(1);
    expect(rule?.sessions[0]).toMatchObject({ app: 'live', name: 'cam', state: 'publishing', retries: 0 });

    // a player on the edge: A has the stream now, so the edge pulls it from its first origin, A
    const ep = await rtmpPlayer(e.rtmpUrl('live/cam'));
    await flowing([ep]);
    expect((await relays(e)).pulls[0]?.url).toBe(`rtmp://127.0.0.1:${a.rtmpPort}/live/cam`);
    ep.maxGapMs = 0;

    // A dies hard
    const oldPid = a.pid;
    const killedAt = Date.now();
    const exit = await a.kill('SIGKILL');
    expect(exit.signal).toBe('SIGKILL');
    expect(await tcpOpen(cfgA.rtmpPort)).toBe(false);
    await eventually(
      async () => ((await relays(b)).pushes.find((p) => p.id === 'to-a')?.sessions[0]?.retries ?? 0) > 0,
      10_000,
      'the push to notice',
    );
    // the edge fails over to B; its player stays and gets media again
    await eventually(
      async () => {
        const pull = (await relays(e)).pulls[0];
        return pull?.state === 'live' && pull.url === `rtmp://127.0.0.1:${b.rtmpPort}/live/cam`;
      },
      15_000,
      'the edge pull to fail over to B',
    );
    await flowing([ep]);
    expect(ep.closed).toBe(false);
    timings['edge player stall, SIGKILL of A to media from B (ms)'] = ep.maxGapMs;
    expect(await playerSessions(b, 'cam')).toHaveLength(1);
    ep.client.close();

    // a new A on the same ports, from the same config file
    a = await TidecastProcess.start('origin-a', cfgA);
    expect(a.pid).not.toBe(oldPid);
    timings['A restart: spawn to listening (ms)'] = a.readyAt - a.spawnedAt;
    await eventually(() => isLive(a, 'live', 'cam'), 15_000, 'the push to reconnect to the new A');
    const liveAt = Date.now();
    timings['push reconnect: A listening to stream live on A (ms)'] = liveAt - a.readyAt;
    timings['SIGKILL of A to stream live on the new A, edge failover checked meanwhile (ms)'] =
      liveAt - killedAt;
    expect(await probe(a.rtmpUrl('live/cam'))).toContain('h264');
    rule = (await relays(b)).pushes.find((p) => p.id === 'to-a');
    expect(rule?.sessions[0]?.state).toBe('publishing');
    expect(rule?.sessions[0]?.retries).toBeGreaterThan(0);
    expect(rule?.sessions[0]?.url).toContain(`rtmp://127.0.0.1:${a.rtmpPort}/live/`);
  });

  it('SIGTERM: every process exits 0 within a few seconds, with an edge pull from A in flight', async () => {
    // A has the stream again (pushed by B), so a new edge pull takes it from the first origin:
    // ffmpeg -> B -> A -> E -> player
    await eventually(async () => (await relays(e)).pulls.length === 0, 10_000, 'the edge pull to stop');
    const p = await rtmpPlayer(e.rtmpUrl('live/cam'));
    await flowing([p]);
    timings['edge: first video after play, from A (first origin) (ms)'] = p.firstVideoAt - p.startedAt;
    expect((await relays(e)).pulls[0]?.url).toBe(`rtmp://127.0.0.1:${a.rtmpPort}/live/cam`);
    expect(await playerSessions(a, 'cam')).toHaveLength(1);

    const procs = [a, b, e];
    const sentAt = Date.now();
    const exits = await Promise.all(
      procs.map(async (x) => {
        x.child.kill('SIGTERM');
        const t = setTimeout(() => x.child.kill('SIGKILL'), 10_000);
        const r = await x.exited;
        clearTimeout(t);
        return r;
      }),
    );
    procs.forEach((x, i) => {
      timings[`SIGTERM to exit, ${x.label} (ms)`] = exits[i].at - sentAt;
    });
    for (const [i, x] of procs.entries()) {
      expect(exits[i], `${x.label} stderr: ${x.out.stderr.slice(-1000)}`).toMatchObject({
        code: 0,
        signal: null,
      });
      expect(exits[i].at - sentAt, `${x.label} shutdown time`).toBeLessThan(5_000);
      // a clean shutdown, not the shutdownTimeoutMs fallback
      expect(x.out.stderr + x.out.stdout).not.toContain('shutdown timed out');
      expect(() => process.kill(x.pid, 0)).toThrow(/ESRCH/);
      expect(await tcpOpen(x.rtmpPort)).toBe(false);
      expect(await tcpOpen(x.httpPort)).toBe(false);
    }
    await until(() => p.closed, 5_000, 'the edge player to be disconnected');
  });
});
