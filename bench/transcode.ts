/**
 * `npm run bench:transcode`: what an ABR ladder costs. A 720p source (ffmpeg `-re -c copy`, a separate process
 * that is not measured) is published to an in-process Tidecast server four times: without transcoding, then with
 * ladders of 1, 2 and 3 renditions (720p copy; + 480p; + 360p). For each run, over the same window:
 *   - ffmpeg CPU: utime+stime of the ladder's ffmpeg (/proc/<pid>/stat); a rendition's cost is the difference from
 *     the ladder without it (the first encoded rung also carries the decode of the source);
 *   - server CPU: this process (process.cpuUsage: the server, which also segments every rendition for HLS/DASH);
 *     the overhead beyond ffmpeg is the difference from the run without transcoding.
 *
 *   npm run bench:transcode -- [--seconds 15] [--warmup 5] [--preset veryfast] [--media FILE] [--json out.json]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { mergeConfig, validateConfig } from '../src/config/load.js';
import { TidecastServer } from '../src/server.js';
import { locateFfmpeg } from '../src/transcode/ffmpeg-locator.js';
import { ROOT } from './process.js';

const { values: opt } = parseArgs({
  options: {
    seconds: { type: 'string', default: '15' },
    warmup: { type: 'string', default: '5' },
    preset: { type: 'string', default: 'veryfast' },
    media: { type: 'string', default: 'test-media/h264-aac-720p.flv' },
    json: { type: 'string' },
  },
});
const seconds = Number(opt.seconds);
const warmup = Number(opt.warmup);
const file = join(ROOT, opt.media);
if (!existsSync(file)) {
  console.error(`${file} is missing: run ../shared/tools/make-test-media.sh test-media (or npm test once)`);
  process.exit(1);
}
const ffmpeg = locateFfmpeg();
if (!ffmpeg) {
  console.error('ffmpeg not found');
  process.exit(1);
}

const CLK_TCK = 100;
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return Number.NaN;
  }
}
const selfCpu = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const RUNGS = [
  { name: '720p', codec: 'copy' },
  { name: '480p', height: 480, videoBitrate: 1000, preset: opt.preset, audioBitrate: 96 },
  { name: '360p', height: 360, videoBitrate: 500, preset: opt.preset, audioBitrate: 64 },
];

interface RunResult {
  rungs: number;
  ffmpegCpu: number;
  serverCpu: number;
  speed: number | undefined;
  restarts: number;
  droppedInputFrames: number;
}

async function runOnce(rungs: number): Promise<RunResult> {
  const ladder = RUNGS.slice(0, rungs);
  const config = validateConfig(
    mergeConfig(
      {
        host: '127.0.0.1',
        rtmp: { port: 0 },
        http: { port: 0 },
        log: { level: 'error', format: 'json' },
        api: { enabled: false },
        metrics: { enabled: false },
        transcode: { ffmpegPath: ffmpeg?.path },
      },
      { apps: { live: { publish: 'open', play: 'open', transcode: { renditions: ladder } } } },
    ),
  );
  const server = new TidecastServer(config, pino({ level: 'error' }));
  const ports = await server.start();
  const pub: ChildProcess = spawn(
    ffmpeg!.path,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-re',
      '-stream_loop',
      '-1',
      '-i',
      file,
      '-c',
      'copy',
      '-f',
      'flv',
    ].concat(`rtmp://127.0.0.1:${ports.rtmp}/live/bench`),
    { stdio: 'ignore' },
  );
  try {
    const deadline = Date.now() + 30_000;
    const want = ['bench', ...ladder.map((r) => `bench_${r.name}`)];
    while (!want.every((n) => server.registry.get('live', n)?.live)) {
      if (Date.now() > deadline) throw new Error(`not live: ${want.join(', ')}`);
      await sleep(200);
    }
    await sleep(warmup * 1000);
    const job = () => server.transcode.stats().jobs[0];
    const pid = job()?.pid;
    const restarts0 = job()?.restarts ?? 0;
    const dropped0 = job()?.input?.droppedFrames ?? 0;
    const f0 = pid ? cpuSeconds(pid) : 0;
    const s0 = selfCpu();
    const t0 = performance.now();
    await sleep(seconds * 1000);
    const wall = (performance.now() - t0) / 1000;
    const f1 = pid ? cpuSeconds(pid) : 0;
    const s1 = selfCpu();
    return {
      rungs,
      ffmpegCpu: ((f1 - f0) / wall) * 100,
      serverCpu: ((s1 - s0) / wall) * 100,
      speed: job()?.progress?.speed,
      restarts: (job()?.restarts ?? 0) - restarts0,
      droppedInputFrames: (job()?.input?.droppedFrames ?? 0) - dropped0,
    };
  } finally {
    pub.kill('SIGKILL');
    await server.close();
  }
}

console.log(
  `ffmpeg: ${ffmpeg.path} (${ffmpeg.source}); source ${opt.media}; preset ${opt.preset}; warm-up ${warmup} s, window ${seconds} s`,
);
const results: RunResult[] = [];
for (const n of [0, 1, 2, 3]) {
  const r = await runOnce(n);
  results.push(r);
  console.log(
    `  ${n} rendition(s): ffmpeg ${r.ffmpegCpu.toFixed(1)}% of a core, server ${r.serverCpu.toFixed(1)}%` +
      (r.speed !== undefined ? `, speed ${r.speed}x` : '') +
      (r.restarts ? `, ${r.restarts} restarts (invalid)` : '') +
      (r.droppedInputFrames ? `, ${r.droppedInputFrames} input frames dropped` : ''),
  );
}
const base = results[0].serverCpu;
const label = ['', '720p copy', '480p encode (+ decode of the source)', '360p encode'];
console.log('\n| rendition | ffmpeg CPU (% of a core) | server CPU beyond the no-transcode run |');
console.log('|---|---|---|');
for (let i = 1; i < results.length; i++) {
  const f = results[i].ffmpegCpu - results[i - 1].ffmpegCpu;
  const s = results[i].serverCpu - results[i - 1].serverCpu;
  console.log(`| +${label[i]} | ${f.toFixed(1)} | ${s >= 0 ? '+' : ''}${s.toFixed(1)} |`);
}
const last = results.at(-1)!;
console.log(
  `| whole ladder (3) | ${last.ffmpegCpu.toFixed(1)} | ${(last.serverCpu - base).toFixed(1)} (server ${last.serverCpu.toFixed(1)} vs ${base.toFixed(1)} without transcoding) |`,
);
if (opt.json) writeFileSync(opt.json, JSON.stringify({ preset: opt.preset, seconds, results }, null, 2));
process.exit(0);
