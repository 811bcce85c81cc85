/**
 * `npm run bench:relay`: relay fan-out. One Tidecast origin, two Tidecast edges (separate processes; each edge app
 * pulls from the origin on demand), N players per edge. A paced publisher (this process) sends a 720p FLV file
 * to the origin in real time; each edge's players are in a child process of their own. Reports delivered Mbps,
 * edge and origin CPU, and publisher-to-player latency through the relay hop. See docs/relays.md.
 *
 *   npm run bench:relay -- --players 500 --seconds 20 [--warmup 3] [--batch 100] [--spread 2000]
 *                          [--media FILE] [--tidecast built|tsx] [--json out.json]
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { FromWorker, ToWorker, WorkerStats } from './players-worker.js';
import { BENCH_TIDECAST_ENV, freePort, spawnServer, stopper, tidecastEntry } from './process.js';
import { loadMedia, Publisher } from './publisher.js';
import { cpuTimes, machineJiffies, memory, processTree } from './servers.js';
import { Histogram, nowMs, quantile } from './stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    players: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    batch: { type: 'string', default: '100' },
    spread: { type: 'string', default: '2000' },
    media: { type: 'string', default: 'test-media/h264-aac-720p.flv' },
    tidecast: { type: 'string', default: 'built' },
    json: { type: 'string' },
  },
});
const PLAYERS = Math.max(1, Math.min(5000, Number(opt.players)));
const SECONDS = Math.max(1, Math.min(600, Number(opt.seconds)));
const WARMUP = Math.max(0, Math.min(60, Number(opt.warmup)));
const BATCH = Math.max(1, Number(opt.batch));
const SPREAD = Math.max(0, Math.min(10_000, Number(opt.spread)));
const EDGES = 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Server {
  label: string;
  pid: number;
  rtmpPort: number;
  httpPort: number;
  stop(): Promise<void>;
}

async function startTidecast(label: string, config: unknown): Promise<Server> {
  const dir = mkdtempSync(join(tmpdir(), `tidecast-bench-relay-${label}-`));
  const rtmpPort = await freePort();
  const httpPort = await freePort();
  const file = join(dir, 'tidecast.json');
  writeFileSync(file, JSON.stringify(config, null, 2));
  const entry = tidecastEntry(opt.tidecast === 'tsx' ? 'tsx' : 'built', ROOT);
  const args = [...entry.args, '--config', file, '--host', '127.0.0.1'];
  args.push('--rtmp-port', String(rtmpPort), '--http-port', String(httpPort), '--log-level', 'warn');
  args.push('--log-format', 'json');
  const child = await spawnServer(process.execPath, args, { dir, ports: [rtmpPort, httpPort] });
  return { label, pid: child.pid as number, rtmpPort, httpPort, stop: stopper(child, dir) };
}

/** One child process of players per edge (bench/players-worker.ts). */
class Worker {
  readonly proc: ChildProcess;
  private waiting: ((m: FromWorker) => void)[] = [];

  constructor() {
    this.proc = fork(join(ROOT, 'bench/players-worker.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.proc.on('message', (m: FromWorker) => {
      if (m.t === 'error') console.error(`player process: ${m.message}`);
      else this.waiting.shift()?.(m);
    });
  }

  send(m: ToWorker): void {
    if (this.proc.connected) this.proc.send(m);
  }

  ask(m: ToWorker): Promise<FromWorker> {
    const reply = new Promise<FromWorker>((r) => this.waiting.push(r));
    this.send(m);
    return reply;
  }

  async stop(): Promise<void> {
    const exited = new Promise<void>((r) =>
      this.proc.exitCode !== null ? r() : this.proc.once('exit', () => r()),
    );
    this.send({ t: 'stop' });
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}

async function originPlayers(origin: Server): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${origin.httpPort}/api/v1/sessions`, {
    headers: { Authorization: `Bearer ${BENCH_TIDECAST_ENV.TIDECAST_API_TOKEN}` },
  });
  const body = (await res.json()) as { sessions: Array<{ role: string; name?: string }> };
  return body.sessions.filter((s) => s.role === 'player' && s.name === 'bench').length;
}

interface EdgeResult {
  edge: string;
  players: number;
  withMedia: number;
  fullMedia: number;
  ended: Record<string, number>;
  mbps: number;
  cpuPct: number;
  cpuSysPct: number;
  rssMB: number;
  ttffP50: number;
  latP50: number;
  latP95: number;
  latP99: number;
  benchCpuPct: number;
}

function mediaFile(): string {
  const file = join(ROOT, opt.media);
  if (!existsSync(file) && opt.media.startsWith('test-media/')) {
    console.log('making test media (../shared/tools/make-test-media.sh) ...');
    execFileSync('bash', [join(ROOT, '../shared/tools/make-test-media.sh'), 'test-media'], { cwd: ROOT });
  }
  return file;
}

async function main(): Promise<void> {
  const media = loadMedia(mediaFile());
  console.log(
    `media: ${opt.media}, ${(media.durationMs / 1000).toFixed(1)} s, ${(media.bitrate / 1e6).toFixed(2)} Mbps; ` +
      `${PLAYERS} players per edge x ${EDGES} edges, batches of ${BATCH}, warm-up ${WARMUP} s, window ${SECONDS} s; ` +
      `${cpus().length} cores, node ${process.version}`,
  );
  const origin = await startTidecast('origin', {});
  const edgeConfig = {
    relays: { edge: { live: { origins: [`rtmp://127.0.0.1:${origin.rtmpPort}/live`] } } },
  };
  const edges: Server[] = [];
  const workers: Worker[] = [];
  let publisher: Publisher | undefined;
  try {
    for (let i = 0; i < EDGES; i++) edges.push(await startTidecast(`edge${i + 1}`, edgeConfig));
    console.log(
      `origin pid ${origin.pid} rtmp ${origin.rtmpPort}; ` +
        edges.map((e) => `${e.label} pid ${e.pid} rtmp ${e.rtmpPort}`).join('; '),
    );
    for (let i = 0; i < EDGES; i++) workers.push(new Worker());
    publisher = new Publisher(`rtmp://127.0.0.1:${origin.rtmpPort}/live/bench`, media, (frames) => {
      for (const w of workers) w.send({ t: 'sent', frames });
    });
    await publisher.start();
    await sleep(2500); // a keyframe and a full GOP are in before the first player
    edges.forEach((e, i) => {
      workers[i].send({
        t: 'init',
        target: { host: '127.0.0.1', port: e.rtmpPort, app: 'live', name: 'bench' },
        batchTimeoutMs: 15_000 + SPREAD,
        loopMs: media.durationMs,
        spreadMs: SPREAD,
      });
    });
    const rampAt = nowMs();
    const done = edges.map(() => ({ ok: 0, failed: 0 }));
    while (done.some((d) => d.ok + d.failed < PLAYERS)) {
      const replies = await Promise.all(
        workers.map((w, i) => {
          const n = Math.min(BATCH, PLAYERS - done[i].ok - done[i].failed);
          return n > 0 ? w.ask({ t: 'connect', count: n }) : undefined;
        }),
      );
      replies.forEach((r, i) => {
        if (r?.t !== 'batch') return;
        done[i].ok += r.ok;
        done[i].failed += r.failed;
      });
      if (process.stdout.isTTY)
        process.stdout.write(
          `\r  players: ${done.map((d) => `${d.ok} playing, ${d.failed} failed`).join(' | ')}`,
        );
    }
    console.log(
      `${process.stdout.isTTY ? '' : `  players: ${done.map((d) => `${d.ok} playing, ${d.failed} failed`).join(' | ')}`}` +
        ` (ramp ${((nowMs() - rampAt) / 1000).toFixed(1)} s)`,
    );
    const upstreams = await originPlayers(origin);
    console.log(`  upstream connections on the origin: ${upstreams} (one pull per edge expected)`);
    await sleep(WARMUP * 1000);

    const trees = edges.map((e) => processTree(e.pid));
    const originTree = processTree(origin.pid);
    const cpu0 = trees.map((t) => cpuTimes(t));
    const ocpu0 = cpuTimes(originTree);
    const m0 = machineJiffies();
    const video0 = publisher.videoSent;
    publisher.resetLateness();
    const t0 = nowMs();
    for (const w of workers) w.send({ t: 'window-start' });
    await sleep(SECONDS * 1000);
    const windowS = (nowMs() - t0) / 1000;
    const cpu1 = trees.map((t) => cpuTimes(t));
    const ocpu1 = cpuTimes(originTree);
    const m1 = machineJiffies();
    const published = publisher.videoSent - video0;
    const replies = await Promise.all(workers.map((w) => w.ask({ t: 'window-end' })));

    const results: EdgeResult[] = edges.map((e, i) => {
      const r = replies[i];
      const s = (r.t === 'stats' ? r.stats : undefined) as WorkerStats;
      const h = new Histogram();
      h.merge(s.latency);
      const cpu = cpu1[i].user + cpu1[i].sys - cpu0[i].user - cpu0[i].sys;
      return {
        edge: e.label,
        players: s.players,
        withMedia: s.withMedia,
        fullMedia: s.perPlayerFrames.filter((n) => n >= 0.95 * published).length,
        ended: s.ended,
        mbps: (s.bytes * 8) / windowS / 1e6,
        cpuPct: (cpu / windowS) * 100,
        cpuSysPct: ((cpu1[i].sys - cpu0[i].sys) / windowS) * 100,
        rssMB: trees[i].reduce((n, p) => n + memory(p).rss, 0) / 1e6,
        ttffP50: quantile(s.ttff, 0.5),
        latP50: h.quantile(0.5),
        latP95: h.quantile(0.95),
        latP99: h.quantile(0.99),
        benchCpuPct: ((s.cpuUserMs + s.cpuSystemMs) / s.windowMs) * 100,
      };
    });
    const originCpuPct = ((ocpu1.user + ocpu1.sys - ocpu0.user - ocpu0.sys) / windowS) * 100;
    const machinePct = ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100;
    const f = (n: number, d = 1) => (Number.isFinite(n) ? n.toFixed(d) : '-');
    console.log(`\n${new Date().toISOString()}: ${PLAYERS} players per edge, ${f(windowS)} s window\n`);
    console.log(
      '| edge | players | with media | full media | delivered Mbps | edge CPU % (sys) | RSS MB | TTFF p50 ms | latency p50/p95/p99 ms |',
    );
    console.log('|---|---|---|---|---|---|---|---|---|');
    for (const r of results) {
      console.log(
        `| ${r.edge} | ${r.players} | ${r.withMedia} | ${r.fullMedia} | ${f(r.mbps)} | ${f(r.cpuPct)} (${f(r.cpuSysPct)}) | ` +
          `${f(r.rssMB, 0)} | ${f(r.ttffP50, 0)} | ${f(r.latP50)}/${f(r.latP95)}/${f(r.latP99)} |`,
      );
    }
    const total = results.reduce((n, r) => n + r.mbps, 0);
    console.log(
      `\ntotal delivered ${f(total)} Mbps (media ${(media.bitrate / 1e6).toFixed(2)} Mbps x ${PLAYERS * EDGES} players = ` +
        `${f((media.bitrate / 1e6) * PLAYERS * EDGES)}); origin CPU ${f(originCpuPct)} % of a core; ` +
        `upstreams ${upstreams}; machine ${f(machinePct)} % busy over ${cpus().length} cores; ` +
        `player processes ${results.map((r) => `${f(r.benchCpuPct, 0)} %`).join(', ')}; ` +
        `publisher max late ${f(publisher.maxLateMs, 0)} ms`,
    );
    for (const r of results)
      if (Object.keys(r.ended).length) console.log(`${r.edge} ended: ${JSON.stringify(r.ended)}`);
    if (opt.json) {
      writeFileSync(
        opt.json,
        JSON.stringify(
          {
            date: new Date().toISOString(),
            playersPerEdge: PLAYERS,
            windowS,
            originCpuPct,
            upstreams,
            results,
          },
          null,
          2,
        ),
      );
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
    publisher?.stop();
    for (const e of edges) await e.stop();
    await origin.stop();
  }
}

await main();
