/**
 * `npm run bench:soak -- --minutes 30`: a long run of Tidecast (built, as a child process) under a changing
 * load, watching for leaks. One paced publisher on `live/soak` for the whole run, a second one on `live/churn`
 * that stops and comes back every ~20 s, and players joining and leaving every second (RTMP, HTTP-FLV and HLS,
 * ~50 at once, a quarter of them on the churned stream). Every 10 s: the server's RSS, open fds, TCP sockets
 * and sessions (REST API). At the end every player leaves; the verdicts are "RSS growth under 20% after the
 * first 5 minutes" and "fds back to the baseline (±10) after all players leave". Exit code 0 when both pass.
 *
 *   npm run bench:soak -- --minutes 30 [--players 50] [--json out.json] [--media FILE] [--interval 10]
 *                         [--tidecast built|tsx]
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BENCH_TIDECAST_ENV, freePort, ROOT, spawnServer, stopper, tidecastEntry } from './process.js';
import { loadMedia, type MediaFile, Publisher } from './publisher.js';
import { type PlayerKind, type SoakPlayer, type SoakTarget, startPlayer } from './soak-players.js';

const { values: opt } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    players: { type: 'string', default: '50' },
    interval: { type: 'string', default: '10' },
    media: { type: 'string', default: 'test-media/h264-aac-360p.flv' },
    tidecast: { type: 'string', default: 'built' },
    json: { type: 'string' },
  },
});
const MINUTES = Math.max(0.5, Math.min(24 * 60, Number(opt.minutes)));
const TARGET_PLAYERS = Math.max(1, Math.min(2000, Number(opt.players)));
const INTERVAL_S = Math.max(1, Math.min(600, Number(opt.interval)));
const CHURN_EVERY_MS = 20_000;
const CHURN_DOWN_MS = 2_000;
const FD_TOLERANCE = 10;
const RSS_GROWTH_LIMIT = 0.2;
const KINDS: PlayerKind[] = ['rtmp', 'http-flv', 'hls'];
const TOKEN = BENCH_TIDECAST_ENV.TIDECAST_API_TOKEN ?? '';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ---- the server process, from /proc ----------------------------------------------------------------

function rssBytes(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/^VmRSS:\s+(\d+)/m.exec(s)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

function fdCount(pid: number): number {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return 0;
  }
}

/** The server's TCP sockets (its socket fds found in /proc/<pid>/net/tcp{,6}), by state. */
function tcpSockets(pid: number): { total: number; established: number; listen: number } {
  const inodes = new Set<string>();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m) inodes.add(m[1]);
      } catch {
        // closed while we looked
      }
    }
  } catch {
    return { total: 0, established: 0, listen: 0 };
  }
  const out = { total: 0, established: 0, listen: 0 };
  for (const file of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9])) continue;
      out.total++;
      if (f[3] === '01') out.established++;
      else if (f[3] === '0A') out.listen++;
    }
  }
  return out;
}

/** Sessions the server reports (GET /api/v1/sessions), or undefined while the API does not answer. */
function apiSessions(httpPort: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    // a connection of its own, closed after the answer: no pooled socket left open in the fd counts
    const req = httpGet(
      {
        host: '127.0.0.1',
        port: httpPort,
        path: '/api/v1/sessions',
        agent: false,
        headers: { Authorization: `Bearer ${TOKEN}`, Connection: 'close' },
        timeout: 2000,
      },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (d: Buffer) => parts.push(d));
        res.on('error', () => resolve(undefined));
        res.on('end', () => {
          try {
            const body = JSON.parse(Buffer.concat(parts).toString()) as { sessions?: unknown[] };
            resolve(
              res.statusCode === 200 && Array.isArray(body.sessions) ? body.sessions.length : undefined,
            );
          } catch {
            resolve(undefined);
          }
        });
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

// ---- load ---------------------------------------------------------------------------------------

interface Sample {
  /** seconds since the players started */
  t: number;
  phase: 'baseline' | 'load' | 'after';
  rssBytes: number;
  fds: number;
  tcp: number;
  tcpEstablished: number;
  sessions: number | null;
  players: Record<PlayerKind, number>;
  joins: number;
  leaves: number;
  errors: number;
  /** media bytes the players received since the previous sample, per second */
  rxBps: number;
  churnLive: boolean;
}

class Load {
  readonly active = new Set<SoakPlayer>();
  private readonly leaveAt = new Map<SoakPlayer, number>();
  joins = 0;
  leaves = 0;
  errors = 0;
  /** media bytes of players that ended */
  private endedBytes = 0;
  private next = 0;
  readonly ended: Record<string, number> = {};

  constructor(private readonly target: SoakTarget) {}

  /** Called every second: players past their time leave, new ones join (at least one, up to the target). */
  tick(): void {
    const now = Date.now();
    for (const [p, at] of this.leaveAt) if (at <= now) p.close();
    const want = Math.min(10, Math.max(1, TARGET_PLAYERS - this.active.size));
    for (let i = 0; i < want; i++) this.join();
  }

  private join(): void {
    const kind = KINDS[this.next % KINDS.length];
    // every fourth player of each kind watches the churned stream
    const stream = Math.floor(this.next / KINDS.length) % 4 === 3 ? 'churn' : 'soak';
    this.next++;
    const p = startPlayer(kind, this.target, stream, (q) => this.onEnd(q));
    this.active.add(p);
    // 5..95 s: at one join a second, ~50 players at once
    this.leaveAt.set(p, Date.now() + 5000 + Math.random() * 90_000);
    this.joins++;
  }

  private onEnd(p: SoakPlayer): void {
    if (!this.active.delete(p)) return;
    this.leaveAt.delete(p);
    this.leaves++;
    this.endedBytes += p.bytes;
    this.errors += p.errors;
    // the churned stream going away ends its RTMP and HTTP-FLV players: expected, not an error
    const reason = p.endReason === 'left' ? 'left' : p.stream === 'churn' ? 'stream-ended' : p.endReason!;
    const key = `${p.kind}:${reason.replace(/:.*/, '')}`;
    this.ended[key] = (this.ended[key] ?? 0) + 1;
    if (reason !== 'left' && reason !== 'stream-ended') this.errors++;
  }

  byKind(): Record<PlayerKind, number> {
    const out: Record<PlayerKind, number> = { rtmp: 0, 'http-flv': 0, hls: 0 };
    for (const p of this.active) out[p.kind]++;
    return out;
  }

  bytes(): number {
    let n = this.endedBytes;
    for (const p of this.active) n += p.bytes;
    return n;
  }

  closeAll(): void {
    for (const p of [...this.active]) p.close();
  }
}

/** The publisher that stops and comes back every ~20 s. */
class Churn {
  private pub: Publisher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  live = false;
  restarts = 0;
  failures = 0;

  constructor(
    private readonly url: string,
    private readonly media: MediaFile,
  ) {}

  async start(): Promise<void> {
    const pub = new Publisher(this.url, this.media, () => {});
    this.pub = pub;
    await pub.start();
    this.live = true;
  }

  run(): void {
    const cycle = () => {
      if (this.stopped) return;
      this.pub?.stop();
      this.live = false;
      this.timer = setTimeout(() => {
        if (this.stopped) return;
        this.start()
          .then(() => {
            this.restarts++;
          })
          .catch(() => {
            this.failures++;
          })
          .finally(() => {
            if (!this.stopped) this.timer = setTimeout(cycle, CHURN_EVERY_MS - CHURN_DOWN_MS);
          });
      }, CHURN_DOWN_MS);
    };
    this.timer = setTimeout(cycle, CHURN_EVERY_MS - CHURN_DOWN_MS);
  }

  /** Stop churning, leaving the stream live (as it was for the baseline). */
  async settle(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    for (let i = 0; i < 3 && !this.live; i++) {
      await sleep(500);
      try {
        await this.start();
      } catch {
        this.failures++;
      }
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.pub?.stop();
    this.live = false;
  }
}

// ---- report ---------------------------------------------------------------------------------------

const mb = (b: number) => (b / 1048576).toFixed(1);

function row(s: Sample): string {
  const cells = [
    s.phase === 'load' ? String(Math.round(s.t)) : s.phase,
    mb(s.rssBytes),
    String(s.fds),
    `${s.tcp} (${s.tcpEstablished})`,
    s.sessions === null ? '-' : String(s.sessions),
    `${s.players.rtmp}/${s.players['http-flv']}/${s.players.hls}`,
    String(s.joins),
    String(s.leaves),
    String(s.errors),
    (s.rxBps / 1e6).toFixed(2),
    s.churnLive ? 'live' : 'down',
  ];
  const widths = [9, 8, 6, 11, 9, 12, 6, 6, 6, 8, 6];
  return cells.map((c, i) => c.padStart(widths[i])).join(' ');
}

const HEADER = [
  '   t (s)',
  ' rss MB',
  '  fds',
  'tcp (est)',
  'sessions',
  'rtmp/flv/hls',
  'joins',
  'leaves',
  'errors',
  'rx MB/s',
  'churn',
]
  .map((c, i) => c.padStart([9, 8, 6, 11, 9, 12, 6, 6, 6, 8, 6][i]))
  .join(' ');

const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<number> {
  const file = join(ROOT, opt.media);
  if (!existsSync(file)) throw new Error(`${opt.media} not found (npm test makes the test media)`);
  const media = loadMedia(file);
  const dir = mkdtempSync(join(tmpdir(), 'tidecast-soak-'));
  const rtmpPort = await freePort();
  const httpPort = await freePort();
  const entry = tidecastEntry(opt.tidecast === 'tsx' ? 'tsx' : 'built', ROOT);
  const args = [...entry.args, '--host', '127.0.0.1', '--rtmp-port', String(rtmpPort)];
  args.push('--http-port', String(httpPort), '--log-level', 'warn', '--log-format', 'json');
  const child = await spawnServer(process.execPath, args, {
    env: { ...process.env, ...BENCH_TIDECAST_ENV },
    dir,
    ports: [rtmpPort, httpPort],
  });
  const stopServer = stopper(child, dir);
  const pid = child.pid!;
  let serverExited = false;
  child.once('exit', () => {
    serverExited = true;
  });
  console.log(
    `soak: ${entry.describe}, pid ${pid}, rtmp ${rtmpPort}, http ${httpPort}; ${MINUTES} min, ~${TARGET_PLAYERS} ` +
      `players (RTMP, HTTP-FLV, HLS) joining and leaving every second; media ${opt.media} ` +
      `(${(media.bitrate / 1e6).toFixed(2)} Mbps); a sample every ${INTERVAL_S} s`,
  );

  const target: SoakTarget = { host: '127.0.0.1', rtmpPort, httpPort, app: 'live' };
  const steady = new Publisher(`rtmp://127.0.0.1:${rtmpPort}/live/soak`, media, () => {});
  const churn = new Churn(`rtmp://127.0.0.1:${rtmpPort}/live/churn`, media);
  const load = new Load(target);
  const samples: Sample[] = [];
  let startedAt = Date.now();
  let lastBytes = 0;
  let lastAt = Date.now();

  const sample = async (phase: Sample['phase']): Promise<Sample> => {
    const now = Date.now();
    const bytes = load.bytes();
    const tcp = tcpSockets(pid);
    const s: Sample = {
      t: (now - startedAt) / 1000,
      phase,
      rssBytes: rssBytes(pid),
      fds: fdCount(pid),
      tcp: tcp.total,
      tcpEstablished: tcp.established,
      sessions: (await apiSessions(httpPort)) ?? null,
      players: load.byKind(),
      joins: load.joins,
      leaves: load.leaves,
      errors: load.errors,
      rxBps: ((bytes - lastBytes) * 1000) / Math.max(1, now - lastAt),
      churnLive: churn.live,
    };
    lastBytes = bytes;
    lastAt = now;
    samples.push(s);
    console.log(row(s));
    return s;
  };

  let tickTimer: NodeJS.Timeout | undefined;
  try {
    await steady.start();
    await churn.start();
    await sleep(3000); // both streams live, their first segments cut
    console.log(HEADER);
    const baseline = await sample('baseline');
    startedAt = Date.now();
    churn.run();
    load.tick();
    tickTimer = setInterval(() => load.tick(), 1000);
    const endAt = startedAt + MINUTES * 60_000;
    let nextSample = startedAt + INTERVAL_S * 1000;
    while (Date.now() < endAt && !serverExited) {
      await sleep(Math.max(0, Math.min(nextSample, endAt) - Date.now()));
      if (Date.now() >= nextSample) {
        await sample('load');
        nextSample += INTERVAL_S * 1000;
      }
    }
    if (serverExited) throw new Error(`the server exited during the run (code ${child.exitCode})`);
    if (Date.now() - lastAt > (INTERVAL_S * 1000) / 2) await sample('load');

    // every player leaves; the churned stream is left live, as it was for the baseline
    clearInterval(tickTimer);
    tickTimer = undefined;
    load.closeAll();
    await churn.settle();
    const settleStart = Date.now();
    while (Date.now() - settleStart < 15_000 && Math.abs(fdCount(pid) - baseline.fds) > FD_TOLERANCE) {
      await sleep(500);
    }
    await sleep(1000);
    const after = await sample('after');
    const settleS = (Date.now() - settleStart) / 1000;

    // verdicts
    const during = samples.filter((s) => s.phase === 'load');
    const windowS = Math.min(300, (MINUTES * 60) / 3);
    const first = during.filter((s) => s.t <= windowS);
    const last = during.filter((s) => s.t >= MINUTES * 60 - windowS);
    const rssFirst = avg(first.map((s) => s.rssBytes));
    const rssLast = avg(last.map((s) => s.rssBytes));
    const fdsFirst = avg(first.map((s) => s.fds));
    const fdsLast = avg(last.map((s) => s.fds));
    const growth = (rssLast - rssFirst) / rssFirst;
    const rssPass = growth < RSS_GROWTH_LIMIT;
    const fdDelta = after.fds - baseline.fds;
    const fdPass = Math.abs(fdDelta) <= FD_TOLERANCE;
    const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8') : '';
    // the server logs JSON at warn and above (its start-up banner is plain text)
    const entries = log
      .split('\n')
      .filter(Boolean)
      .flatMap((l) => {
        try {
          return [JSON.parse(l) as { level?: number; msg?: string }];
        } catch {
          return [];
        }
      });
    const errorLines = entries.filter((e) => (e.level ?? 0) >= 50).map((e) => JSON.stringify(e));
    const byMsg: Record<string, number> = {};
    for (const e of entries) byMsg[e.msg ?? '?'] = (byMsg[e.msg ?? '?'] ?? 0) + 1;
    console.log(`\n${new Date().toISOString()}: soak of ${MINUTES} min, samples every ${INTERVAL_S} s\n`);
    console.log(HEADER);
    for (const s of samples) console.log(row(s));
    const w =
      windowS >= 60 ? `${(windowS / 60).toFixed(windowS % 60 ? 1 : 0)} min` : `${windowS.toFixed(0)} s`;
    console.log(
      `\nfirst ${w}: RSS ${mb(rssFirst)} MB, ${fdsFirst.toFixed(0)} fds (${first.length} samples); ` +
        `last ${w}: RSS ${mb(rssLast)} MB, ${fdsLast.toFixed(0)} fds (${last.length} samples)`,
    );
    console.log(
      `players: ${load.joins} joined, ${load.leaves} left; endings ${JSON.stringify(load.ended)}; ` +
        `${load.errors} errors; churn: ${churn.restarts} restarts, ${churn.failures} failed; ` +
        `server log: ${entries.length} warn+ lines ${JSON.stringify(byMsg)}, ${errorLines.length} error+`,
    );
    console.log(
      `${rssPass ? 'PASS' : 'FAIL'}  RSS growth under ${RSS_GROWTH_LIMIT * 100}% after the first ${w}: ` +
        `${growth >= 0 ? '+' : ''}${(growth * 100).toFixed(1)}% (${mb(rssFirst)} -> ${mb(rssLast)} MB)`,
    );
    console.log(
      `${fdPass ? 'PASS' : 'FAIL'}  fds back to the baseline (±${FD_TOLERANCE}) after all players left: ` +
        `${baseline.fds} -> ${after.fds} (${fdDelta >= 0 ? '+' : ''}${fdDelta}, after ${settleS.toFixed(1)} s); ` +
        `TCP ${baseline.tcp} -> ${after.tcp}, sessions ${baseline.sessions ?? '-'} -> ${after.sessions ?? '-'}`,
    );
    for (const l of errorLines.slice(0, 5)) console.log(`  server error: ${l.slice(0, 300)}`);
    if (opt.json) {
      writeFileSync(
        opt.json,
        JSON.stringify(
          {
            date: new Date().toISOString(),
            options: { minutes: MINUTES, players: TARGET_PLAYERS, interval: INTERVAL_S, media: opt.media },
            server: entry.describe,
            samples,
            summary: {
              windowSeconds: windowS,
              rssFirst,
              rssLast,
              rssGrowth: growth,
              rssPass,
              fdsFirst,
              fdsLast,
              fdsBaseline: baseline.fds,
              fdsAfter: after.fds,
              fdPass,
              joins: load.joins,
              leaves: load.leaves,
              errors: load.errors,
              endings: load.ended,
              churnRestarts: churn.restarts,
              churnFailures: churn.failures,
              serverErrorLines: errorLines.length,
              serverLog: byMsg,
            },
          },
          null,
          2,
        ),
      );
    }
    return rssPass && fdPass ? 0 : 1;
  } finally {
    if (tickTimer) clearInterval(tickTimer);
    load.closeAll();
    churn.stop();
    steady.stop();
    await stopServer();
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(`soak failed: ${(err as Error).stack ?? err}`);
    process.exit(2);
  },
);
