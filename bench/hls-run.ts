/**
 * `npm run bench:hls` (also part of `npm run bench`): HLS load against Tidecast and nginx-rtmp's HLS output.
 * One paced RTMP publisher (this process, bench/publisher.ts) per server; N clients in one child process
 * (bench/hls-worker.ts). Phases, one after another, each with a fresh server:
 *   tidecast     Tidecast, MPEG-TS segments (LL-HLS off): N standard clients
 *   nginx        nginx-rtmp `hls on` served by nginx's http module: N standard clients
 *   tidecast-ll  Tidecast, fMP4 LL-HLS: N LL-HLS clients (blocking reloads, then parts)
 *   tidecast-fmp4 (not in the default list) Tidecast, fMP4 with LL-HLS on: N standard clients
 * See docs/performance.md, "HLS".
 *
 *   npm run bench:hls -- --clients 1000 --seconds 20 [--phases tidecast,nginx,tidecast-ll] [--json out.json]
 *   (--json out.json writes out.hls.json)
 *   other options: --warmup S, --media FILE, --target-duration S, --part-target S, --gzip (clients send
 *   Accept-Encoding: gzip, as browsers do), --tidecast built|tsx, --tidecast-dir DIR
 */
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { details, type HlsRow, type Phase, table, targets } from './hls-report.js';
import { type HlsServer, startNginxHls, startTidecast } from './hls-servers.js';
import type { FromHlsWorker, HlsWorkerStats, Kind, ToHlsWorker } from './hls-worker.js';
import { loadMedia, Publisher } from './publisher.js';
import { cpuTimes, machineJiffies, memory, processTree } from './servers.js';
import { Histogram } from './stats.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values: opt } = parseArgs({
  options: {
    clients: { type: 'string' },
    seconds: { type: 'string', default: '20' },
    warmup: { type: 'string', default: '3' },
    phases: { type: 'string' },
    media: { type: 'string', default: 'test-media/h264-aac-720p.flv' },
    'target-duration': { type: 'string', default: '2' },
    'part-target': { type: 'string', default: '0.25' },
    tidecast: { type: 'string', default: 'built' },
    'tidecast-dir': { type: 'string' },
    json: { type: 'string' },
    gzip: { type: 'boolean', default: false },
    // `npm run bench -- ...` passes bench/run.ts's options here too: --players is the client count, --servers
    // picks phases (tidecast: tidecast + tidecast-ll; nginx: nginx; nms: none), the rest is RTMP-only
    players: { type: 'string' },
    servers: { type: 'string' },
    batch: { type: 'string' },
    spread: { type: 'string' },
    procs: { type: 'string' },
  },
});
const CLIENTS = Math.max(1, Math.min(5000, Math.floor(Number(opt.clients ?? opt.players ?? 1000)) || 1));
const SECONDS = Math.max(1, Math.min(600, Number(opt.seconds) || 20));
const WARMUP = Math.max(0, Math.min(60, Number(opt.warmup) || 0));
const TARGET = Math.max(1, Math.min(10, Math.round(Number(opt['target-duration']) || 2)));
const PART = Math.max(0.1, Math.min(1, Number(opt['part-target']) || 0.25));
const FROM_SERVERS: Record<string, Phase[]> = {
  tidecast: ['tidecast', 'tidecast-ll'],
  nginx: ['nginx'],
  nms: [],
};
const PHASES: Phase[] = opt.phases
  ? (opt.phases.split(',').map((s) => s.trim()) as Phase[])
  : opt.servers
    ? (['tidecast', 'nginx', 'tidecast-ll'] as Phase[]).filter((p) =>
        opt.servers!.split(',').some((s) => FROM_SERVERS[s.trim()]?.includes(p)),
      )
    : ['tidecast', 'nginx', 'tidecast-ll'];
for (const p of PHASES)
  if (!['tidecast', 'nginx', 'tidecast-ll', 'tidecast-fmp4'].includes(p))
    throw new Error(`unknown phase ${p}`);
/** `--json out.json` writes out.hls.json: `npm run bench -- --json out.json` leaves bench/run.ts's file alone */
const JSON_OUT = opt.json?.replace(/(\.json)?$/, '.hls.json');
const STREAM = 'bench';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function mediaFile(): string {
  const file = join(ROOT, opt.media);
  if (!existsSync(file) && opt.media.startsWith('test-media/')) {
    console.log('making test media (../shared/tools/make-test-media.sh) ...');
    execFileSync('bash', [join(ROOT, '../shared/tools/make-test-media.sh'), 'test-media'], { cwd: ROOT });
  }
  return file;
}

async function startPhase(phase: Phase): Promise<HlsServer> {
  const mode = opt.tidecast === 'tsx' ? 'tsx' : 'built';
  const common = {
    partTarget: PART,
    targetDuration: TARGET,
    mode,
    dir: opt['tidecast-dir'],
    name: STREAM,
  } as const;
  if (phase === 'nginx') return startNginxHls({ fragment: TARGET, name: STREAM });
  if (phase === 'tidecast') return startTidecast({ ...common, format: 'mpegts', lowLatency: false });
  const s = await startTidecast({ ...common, format: 'fmp4', lowLatency: true });
  if (phase === 'tidecast-fmp4') s.label = 'Tidecast fMP4';
  return s;
}

/** Waits until the playlist lists `segments` segments (a player has something to start from). */
async function playlistReady(s: HlsServer, segments: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < until) {
    try {
      const r = await fetch(`http://127.0.0.1:${s.httpPort}${s.playlistPath}`);
      last = `${r.status} ${await r.text()}`;
      if (r.ok && (last.match(/#EXTINF/g)?.length ?? 0) >= segments) return;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(250);
  }
  throw new Error(
    `no playlist with ${segments} segments after ${timeoutMs} ms; last answer: ${last.slice(0, 300)}`,
  );
}

function hist(d: Kind['latency']): Histogram {
  const h = new Histogram();
  h.merge(d);
  return h;
}

async function runPhase(phase: Phase, media: ReturnType<typeof loadMedia>): Promise<HlsRow> {
  const server = await startPhase(phase);
  console.log(`\n== ${phase}: ${server.describe}; http port ${server.httpPort}, pid ${server.pid}`);
  let tree = processTree(server.pid);
  let peakRss = 0;
  let ticks = 0;
  const rssTimer = setInterval(() => {
    if (++ticks % 8 === 0) tree = processTree(server.pid);
    peakRss = Math.max(
      peakRss,
      tree.reduce((n, p) => n + memory(p).rss, 0),
    );
  }, 250);
  const publisher = new Publisher(`rtmp://127.0.0.1:${server.rtmpPort}/live/${STREAM}`, media, () => {});
  let worker: ChildProcess | undefined;
  const waiting: ((m: FromHlsWorker) => void)[] = [];
  try {
    await publisher.start();
    await playlistReady(server, 3, 30_000);
    tree = processTree(server.pid);
    const idle0 = cpuTimes(tree);
    await sleep(2000);
    const idle1 = cpuTimes(tree);
    const idleCpuPct = ((idle1.user + idle1.sys - idle0.user - idle0.sys) / 2) * 100;

    const w = fork(join(ROOT, 'bench/hls-worker.ts'), [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    worker = w;
    w.on('message', (m: FromHlsWorker) => {
      if (m.t === 'error') console.error(`client process: ${m.message}`);
      else waiting.shift()?.(m);
    });
    const ask = (m: ToHlsWorker) =>
      new Promise<FromHlsWorker>((resolve) => {
        waiting.push(resolve);
        w.send(m);
      });
    const mode = phase === 'tidecast-ll' ? 'll' : 'standard';
    const pollMs = (TARGET * 1000) / 2;
    await ask({
      t: 'start',
      init: {
        host: '127.0.0.1',
        port: server.httpPort,
        playlistPath: server.playlistPath,
        mode,
        clients: CLIENTS,
        pollMs,
        spreadMs: pollMs,
        timeoutMs: 15_000,
        gzip: opt.gzip,
      },
    });
    console.log(`  ${CLIENTS} ${mode} clients started; warm-up ${WARMUP} s, window ${SECONDS} s`);
    await sleep(WARMUP * 1000);

    tree = processTree(server.pid);
    const cpu0 = cpuTimes(tree);
    const m0 = machineJiffies();
    const self0 = process.cpuUsage();
    publisher.resetLateness();
    const congested0 = publisher.congestedWrites;
    w.send({ t: 'window-start' } satisfies ToHlsWorker);
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const cpu1 = cpuTimes(processTree(server.pid));
    const m1 = machineJiffies();
    const self = process.cpuUsage(self0);
    const windowS = (performance.now() - t0) / 1000;
    const reply = await ask({ t: 'window-end' });
    const endTree = processTree(server.pid);
    const endRss = endTree.reduce((n, p) => n + memory(p).rss, 0);
    for (const p of endTree) peakRss = Math.max(peakRss, memory(p).hwm);
    if (reply.t !== 'stats') throw new Error('no stats from the client process');
    const s: HlsWorkerStats = reply.stats;

    const cpuSeconds = cpu1.user + cpu1.sys - cpu0.user - cpu0.sys;
    const busyPct = ((m1.busy - m0.busy) / (m1.total - m0.total)) * 100;
    const clientCpuPct = ((s.cpuUserMs + s.cpuSystemMs) / s.windowMs) * 100;
    const selfPct = ((self.user + self.system) / 1000 / (windowS * 1000)) * 100;
    const errors: Record<string, number> = {};
    for (const [kind, k] of [
      ['playlist', s.playlist],
      ['blocking', s.blocking],
      ['media', s.media],
    ] as const)
      for (const [o, n] of Object.entries(k.outcomes)) if (o !== '200') errors[`${kind} ${o}`] = n;
    const pl = hist(s.playlist.latency);
    const bl = hist(s.blocking.latency);
    const md = hist(s.media.latency);
    const ar = hist(s.afterReady);
    const okMedia = s.media.outcomes['200'] ?? 0;
    const requests = s.playlist.requests + s.blocking.requests + s.media.requests;
    return {
      phase,
      label: server.label,
      describe: server.describe,
      mode,
      clients: s.clients,
      windowSeconds: windowS,
      requestsPerSecond: requests / windowS,
      playlistPerSecond: s.playlist.requests / windowS,
      blockingPerSecond: s.blocking.requests / windowS,
      mediaPerSecond: s.media.requests / windowS,
      bytesPerSecond: s.socketBytes / windowS,
      playlistP50: pl.quantile(0.5),
      playlistP99: pl.quantile(0.99),
      afterReadyP50: ar.quantile(0.5),
      afterReadyP99: ar.quantile(0.99),
      afterReadyMax: ar.max,
      afterReadySamples: ar.total,
      blockingP50: bl.quantile(0.5),
      blockingP99: bl.quantile(0.99),
      blockedShare: ar.total > 0 ? s.blockedAnswers / ar.total : 0,
      partKeys: s.partKeys,
      partsSkipped: s.partsSkipped,
      mediaP50: md.quantile(0.5),
      mediaP99: md.quantile(0.99),
      mediaTtfbP99: hist(s.media.ttfb).quantile(0.99),
      mediaMeanBytes: okMedia > 0 ? s.media.bytes / okMedia : 0,
      errors,
      errorCount: Object.values(errors).reduce((a, b) => a + b, 0),
      clientsWithMedia: s.clientsWithMedia,
      clientsCurrent: s.clientsCurrent,
      connects: s.connects,
      cpuSeconds,
      cpuSysSeconds: cpu1.sys - cpu0.sys,
      idleCpuPct,
      peakRssBytes: peakRss,
      endRssBytes: endRss,
      clientCpuPct,
      clientSysPct: (s.cpuSystemMs / s.windowMs) * 100,
      clientMaxLagMs: s.maxLoopLagMs,
      reads: s.reads,
      publisherMaxLateMs: publisher.maxLateMs,
      publisherCongested: publisher.congestedWrites - congested0,
      machineBusyPct: busyPct,
      cores: cpus().length,
      otherCpuPct: Math.max(
        0,
        busyPct * cpus().length - (cpuSeconds / windowS) * 100 - clientCpuPct - selfPct,
      ),
    };
  } finally {
    clearInterval(rssTimer);
    if (worker) {
      const w = worker;
      const exited = new Promise<void>((r) => (w.exitCode !== null ? r() : w.once('exit', () => r())));
      if (w.connected) w.send({ t: 'stop' } satisfies ToHlsWorker);
      const t = setTimeout(() => w.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
    publisher.stop();
    await server.stop();
  }
}

async function main(): Promise<void> {
  const media = loadMedia(mediaFile());
  console.log(
    `HLS bench. media: ${opt.media}, ${(media.durationMs / 1000).toFixed(1)} s, ${(media.bitrate / 1e6).toFixed(2)} Mbps;` +
      ` ${CLIENTS} clients in one process, target duration ${TARGET} s, part target ${PART} s,` +
      ` warm-up ${WARMUP} s, window ${SECONDS} s${opt.gzip ? ', Accept-Encoding: gzip' : ''}; ${cpus().length} cores, node ${process.version}`,
  );
  const rows: HlsRow[] = [];
  for (const phase of PHASES) {
    const j0 = machineJiffies();
    await sleep(1000);
    const j1 = machineJiffies();
    const busy = ((j1.busy - j0.busy) / (j1.total - j0.total)) * cpus().length * 100;
    if (busy > 20)
      console.warn(`warning: ${busy.toFixed(0)}% of a core busy before the run: results will be noisy`);
    try {
      rows.push(await runPhase(phase, media));
      console.log(details(rows[rows.length - 1]));
    } catch (e) {
      console.error(`${phase}: ${(e as Error).message}`);
    }
  }
  console.log(`\n${new Date().toISOString()}: ${CLIENTS} clients, ${SECONDS} s window\n`);
  console.log(table(rows));
  console.log(`\n${targets(rows, CLIENTS)}`);
  if (JSON_OUT) {
    writeFileSync(JSON_OUT, JSON.stringify({ date: new Date().toISOString(), rows }, null, 2));
    console.log(`\nJSON: ${JSON_OUT}`);
  }
}

await main();
