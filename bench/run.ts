/**
 * `npm run bench`: the same RTMP load against Tidecast, nginx-rtmp and node-media-server.
 * One paced publisher (this process) sends a 720p FLV file in real time; N players in 1-2 child processes
 * connect in batches, then a warm-up, then a measured window. See docs/performance.md.
 *
 *   npm run bench -- --players 1000 --seconds 20 --servers tidecast,nginx,nms [--procs 1|2] [--json out.json]
 *   other options: --warmup S, --batch N, --spread MS, --media FILE, --tidecast built|tsx, --tidecast-dir DIR
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { FromWorker, ToWorker, WorkerStats } from './players-worker.js';
import { loadMedia, Publisher } from './publisher.js';
import { details, type ServerResult, table, targets } from './report.js';
import {
  cpuTimes,
  machineJiffies,
  memory,
  processTree,
  type RunningServer,
  type ServerName,
  startServer,
} from './servers.js';
import { Histogram, nowMs, quantile } from './stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    players: { type: 'string', default: '1000' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    batch: { type: 'string', default: '100' },
    spread: { type: 'string', default: '2000' },
    procs: { type: 'string', default: '1' },
    servers: { type: 'string', default: 'tidecast,nginx,nms' },
    media: { type: 'string', default: 'test-media/h264-aac-720p.flv' },
    tidecast: { type: 'string', default: 'built' },
    'tidecast-dir': { type: 'string' },
    json: { type: 'string' },
  },
});
const PLAYERS = Math.max(1, Math.min(5000, Number(opt.players)));
const SECONDS = Math.max(1, Math.min(600, Number(opt.seconds)));
const WARMUP = Math.max(0, Math.min(60, Number(opt.warmup)));
const BATCH = Math.max(1, Number(opt.batch));
const SPREAD = Math.max(0, Math.min(10_000, Number(opt.spread)));
const PROCS = Math.max(1, Math.min(4, Number(opt.procs)));
const SERVERS = opt.servers.split(',').map((s) => s.trim()) as ServerName[];
for (const s of SERVERS)
  if (!['tidecast', 'nginx', 'nms'].includes(s)) throw new Error(`unknown server ${s}`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function mediaFile(): string {
  const file = join(ROOT, opt.media);
  if (!existsSync(file) && opt.media.startsWith('test-media/')) {
    console.log('making test media (../shared/tools/make-test-media.sh) ...');
    execFileSync('bash', [join(ROOT, '../shared/tools/make-test-media.sh'), 'test-media'], { cwd: ROOT });
  }
  return file;
}

class Workers {
  readonly procs: ChildProcess[] = [];
  private waiting: ((m: FromWorker) => void)[] = [];

  constructor(n: number) {
    for (let i = 0; i < n; i++) {
      const child = fork(join(ROOT, 'bench/players-worker.ts'), [], {
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.on('message', (m: FromWorker) => {
        if (m.t === 'error') console.error(`player process: ${m.message}`);
        else this.waiting.shift()?.(m);
      });
      this.procs.push(child);
    }
  }

  send(m: ToWorker, to = this.procs): void {
    for (const p of to) if (p.connected) p.send(m);
  }

  /** Sends m to each process and waits for one reply from each. */
  async ask(make: (i: number) => ToWorker | undefined): Promise<FromWorker[]> {
    const replies: Promise<FromWorker>[] = [];
    this.procs.forEach((p, i) => {
      const m = make(i);
      if (!m) return;
      replies.push(new Promise((r) => this.waiting.push(r)));
      p.send(m);
    });
    return Promise.all(replies);
  }

  async stop(): Promise<void> {
    const exits = this.procs.map(
      (p) => new Promise<void>((r) => (p.exitCode !== null ? r() : p.once('exit', () => r()))),
    );
    this.send({ t: 'stop' });
    const t = setTimeout(() => {
      for (const p of this.procs) p.kill('SIGKILL');
    }, 3000);
    await Promise.all(exits);
    clearTimeout(t);
  }
}

async function runOne(name: ServerName, media: ReturnType<typeof loadMedia>): Promise<ServerResult> {
  const server: RunningServer = await startServer(name, {
    tidecastMode: opt.tidecast === 'tsx' ? 'tsx' : 'built',
    tidecastDir: opt['tidecast-dir'],
  });
  console.log(`\n== ${name}: ${server.describe}, rtmp port ${server.rtmpPort}, pid ${server.pid}`);
  let peakRss = 0;
  let tree = processTree(server.pid);
  let ticks = 0;
  const rssTimer = setInterval(() => {
    if (++ticks % 8 === 0) tree = processTree(server.pid); // scanning /proc costs the publisher's loop time
    peakRss = Math.max(
      peakRss,
      tree.reduce((n, p) => n + memory(p).rss, 0),
    );
  }, 250);
  const workers = new Workers(PROCS);
  const url = `rtmp://127.0.0.1:${server.rtmpPort}/live/bench`;
  const publisher = new Publisher(url, media, (frames) => workers.send({ t: 'sent', frames }));
  try {
    await publisher.start();
    await sleep(2500); // a keyframe and a full GOP are in before the first player
    workers.send({
      t: 'init',
      target: { host: '127.0.0.1', port: server.rtmpPort, app: 'live', name: 'bench' },
      batchTimeoutMs: 10_000 + SPREAD,
      loopMs: media.durationMs,
      spreadMs: SPREAD,
    });
    let connected = 0;
    let failed = 0;
    const rampAt = nowMs();
    while (connected + failed < PLAYERS) {
      const n = Math.min(BATCH, PLAYERS - connected - failed);
      const share = (i: number) => Math.floor((n * (i + 1)) / PROCS) - Math.floor((n * i) / PROCS);
      const replies = await workers.ask((i) =>
        share(i) > 0 ? { t: 'connect', count: share(i) } : undefined,
      );
      for (const r of replies) {
        if (r.t !== 'batch') continue;
        connected += r.ok;
        failed += r.failed;
      }
      if (process.stdout.isTTY) process.stdout.write(`\r  players: ${connected} playing, ${failed} failed`);
    }
    console.log(
      `${process.stdout.isTTY ? '' : `  players: ${connected} playing, ${failed} failed`} (ramp ${((nowMs() - rampAt) / 1000).toFixed(1)} s); warm-up ${WARMUP} s, window ${SECONDS} s`,
    );
    await sleep(WARMUP * 1000);

    const cpu0 = cpuTimes(tree);
    const m0 = machineJiffies();
    const self0 = process.cpuUsage();
    const video0 = publisher.videoSent;
    publisher.resetLateness();
    const t0 = nowMs();
    workers.send({ t: 'window-start' });
    await sleep(SECONDS * 1000);
    const windowS = (nowMs() - t0) / 1000;
    const cpu1 = cpuTimes(processTree(server.pid));
    const m1 = machineJiffies();
    const self = process.cpuUsage(self0);
    const published = publisher.videoSent - video0;
    const replies = await workers.ask(() => ({ t: 'window-end' }));
    const endTree = processTree(server.pid);
    const endRss = endTree.reduce((n, p) => n + memory(p).rss, 0);
    for (const p of endTree) peakRss = Math.max(peakRss, memory(p).hwm);

    const busyPct = ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100;
    const stats = replies.flatMap((r) => (r.t === 'stats' ? [r.stats] : [])) as WorkerStats[];
    const hist = new Histogram();
    for (const s of stats) hist.merge(s.latency);
    const sum = (f: (s: WorkerStats) => number) => stats.reduce((n, s) => n + f(s), 0);
    const ttff = stats.flatMap((s) => s.ttff);
    const ended: Record<string, number> = {};
    for (const s of stats) for (const [k, v] of Object.entries(s.ended)) ended[k] = (ended[k] ?? 0) + v;
    const perPlayer = stats.flatMap((s) => s.perPlayerFrames);
    return {
      server: name,
      describe: server.describe,
      players: sum((s) => s.players),
      withMedia: sum((s) => s.withMedia),
      fullMedia: perPlayer.filter((n) => n >= 0.95 * published).length,
      ended,
      ttffP50: quantile(ttff, 0.5),
      ttffP95: quantile(ttff, 0.95),
      ttfkP50: quantile(
        stats.flatMap((s) => s.ttfk),
        0.5,
      ),
      mbps: (sum((s) => s.bytes) * 8) / windowS / 1e6,
      delivery: published > 0 ? sum((s) => s.videoFrames) / (published * Math.max(1, PLAYERS)) : 0,
      latP50: hist.quantile(0.5),
      latP95: hist.quantile(0.95),
      latP99: hist.quantile(0.99),
      latMax: hist.max,
      latSamples: hist.total,
      unmatched: sum((s) => s.unmatched),
      cpuSeconds: cpu1.user + cpu1.sys - cpu0.user - cpu0.sys,
      cpuSysSeconds: cpu1.sys - cpu0.sys,
      windowSeconds: windowS,
      peakRssBytes: peakRss,
      endRssBytes: endRss,
      benchCpuPct: stats.map((s) => ((s.cpuUserMs + s.cpuSystemMs) / s.windowMs) * 100),
      benchSysPct: stats.map((s) => (s.cpuSystemMs / s.windowMs) * 100),
      benchMaxLagMs: Math.max(...stats.map((s) => s.maxLoopLagMs)),
      readsPerSecond: sum((s) => s.reads) / windowS,
      parentCpuPct: ((self.user + self.system) / 1000 / (windowS * 1000)) * 100,
      machineBusyPct: busyPct,
      cores: cpus().length,
      otherCpuPct: Math.max(
        0,
        busyPct * cpus().length -
          ((cpu1.user + cpu1.sys - cpu0.user - cpu0.sys) / windowS) * 100 -
          sum((s) => s.cpuUserMs + s.cpuSystemMs) / windowS / 10 -
          ((self.user + self.system) / 1000 / (windowS * 1000)) * 100,
      ),
      publisherCongested: publisher.congestedWrites,
      publisherMaxLateMs: publisher.maxLateMs,
    };
  } finally {
    clearInterval(rssTimer);
    await workers.stop();
    publisher.stop();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const media = loadMedia(mediaFile());
  console.log(
    `media: ${opt.media}, ${(media.durationMs / 1000).toFixed(1)} s, ${(media.bitrate / 1e6).toFixed(2)} Mbps,` +
      ` ${media.videoFrames} video frames, ${media.keyCollisions} key collisions`,
  );
  console.log(
    `load: ${PLAYERS} players in ${PROCS} process(es), batches of ${BATCH} spread over ${SPREAD} ms, warm-up ${WARMUP} s, window ${SECONDS} s;` +
      ` ${cpus().length} cores, node ${process.version}`,
  );
  const rows: ServerResult[] = [];
  for (const name of SERVERS) {
    const j0 = machineJiffies();
    await sleep(1000);
    const j1 = machineJiffies();
    const busy = ((j1.busy - j0.busy) / (j1.total - j0.total)) * cpus().length * 100;
    if (busy > 20)
      console.warn(`warning: ${busy.toFixed(0)}% of a core busy before the run: results will be noisy`);
    try {
      rows.push(await runOne(name, media));
      console.log(details(rows[rows.length - 1]));
    } catch (e) {
      console.error(`${name}: ${(e as Error).message}`);
    }
    await sleep(1500);
  }
  console.log(`\n${new Date().toISOString()}: ${PLAYERS} players, ${SECONDS} s window\n`);
  console.log(table(rows));
  console.log(`\n${targets(rows, PLAYERS)}`);
  if (opt.json) writeFileSync(opt.json, JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
}

await main();
