/** One result row per server, the comparison table and Tidecast's targets. */
import type { ServerName } from './servers.js';
import { SERVER_LABEL } from './servers.js';

export interface ServerResult {
  server: ServerName;
  describe: string;
  players: number;
  /** connected at the end of the window and got video during it */
  withMedia: number;
  /** got at least 95% of the video frames the publisher sent during the window */
  fullMedia: number;
  ended: Record<string, number>;
  ttffP50: number;
  ttffP95: number;
  ttfkP50: number;
  mbps: number;
  /** delivered video frames / (players x frames published in the window) */
  delivery: number;
  latP50: number;
  latP95: number;
  latP99: number;
  latMax: number;
  latSamples: number;
  unmatched: number;
  cpuSeconds: number;
  /** of which in the kernel (stime) */
  cpuSysSeconds: number;
  windowSeconds: number;
  peakRssBytes: number;
  /** RSS at the end of the window (the peak may come from the ramp) */
  endRssBytes: number;
  /** CPU of each player process, % of one core, and the part of it in the kernel */
  benchCpuPct: number[];
  benchSysPct: number[];
  benchMaxLagMs: number;
  /** socket reads per second, all players */
  readsPerSecond: number;
  parentCpuPct: number;
  machineBusyPct: number;
  cores: number;
  /** CPU used by processes outside this benchmark during the window, % of one core (noise) */
  otherCpuPct: number;
  publisherCongested: number;
  publisherMaxLateMs: number;
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : n > 0 ? 'inf' : '-');
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : n > 0 ? 'inf' : '-');
const ratio = (a: number, b: number | undefined) =>
  b === undefined || !(b > 0) || !Number.isFinite(a) || !Number.isFinite(b) ? '-' : `${(a / b).toFixed(2)}x`;
const mib = (b: number) => b / (1024 * 1024);

/** Markdown table, one row per server, ratio columns against nginx-rtmp. */
export function table(rows: ServerResult[]): string {
  const ngx = rows.find((r) => r.server === 'nginx');
  const head = [
    'server',
    'players w/ media',
    'TTFF p50 / p95 ms',
    'Mbps (delivery)',
    'latency p50 / p95 / p99 ms',
    'server CPU s',
    'CPU vs nginx',
    'peak RSS MiB',
    'RSS vs nginx',
    'p99 vs nginx',
    'bench CPU %',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cells = [
      SERVER_LABEL[r.server],
      `${r.withMedia}/${r.players}`,
      `${f1(r.ttffP50)} / ${f1(r.ttffP95)}`,
      `${f0(r.mbps)} (${(r.delivery * 100).toFixed(1)}%)`,
      `${f1(r.latP50)} / ${f1(r.latP95)} / ${f1(r.latP99)}`,
      r.cpuSeconds.toFixed(2),
      ratio(r.cpuSeconds, ngx?.cpuSeconds),
      f0(mib(r.peakRssBytes)),
      ratio(r.peakRssBytes, ngx?.peakRssBytes),
      ratio(r.latP99, ngx?.latP99),
      r.benchCpuPct.map((p) => p.toFixed(0)).join('+'),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Per-server detail lines: what the table leaves out but the reader needs to trust it. */
export function details(r: ServerResult): string {
  const ended = Object.entries(r.ended)
    .map(([k, v]) => `${k} x${v}`)
    .join(', ');
  return [
    `${SERVER_LABEL[r.server]} (${r.describe}):`,
    `  window ${r.windowSeconds.toFixed(1)} s; server CPU ${((r.cpuSeconds / r.windowSeconds) * 100).toFixed(0)}% of a core` +
      ` (${((r.cpuSysSeconds / r.cpuSeconds) * 100).toFixed(0)}% of it in the kernel);` +
      ` machine busy ${r.machineBusyPct.toFixed(0)}% of ${r.cores} cores (other processes ${f0(r.otherCpuPct)}% of a core);` +
      ` RSS ${f0(mib(r.endRssBytes))} MiB at the end`,
    `  players: ${r.withMedia} with media, ${r.fullMedia} got >=95% of frames; ended: ${ended || 'none'}`,
    `  first keyframe p50 ${f1(r.ttfkP50)} ms; latency max ${f1(r.latMax)} ms over ${r.latSamples} frames` +
      ` (${r.unmatched} unmatched)`,
    `  bench: players ${r.benchCpuPct.map((p) => `${p.toFixed(0)}%`).join(' + ')} of a core` +
      ` (kernel ${r.benchSysPct.map((p) => `${p.toFixed(0)}%`).join(' + ')}),` +
      ` ${f0(r.readsPerSecond)} reads/s, max event-loop lag ${f1(r.benchMaxLagMs)} ms; publisher process ${r.parentCpuPct.toFixed(0)}%,` +
      ` late by up to ${f1(r.publisherMaxLateMs)} ms, ${r.publisherCongested} congested writes`,
  ].join('\n');
}

/** PASS/FAIL of Tidecast's targets (issue): nothing is adjusted, a missing comparison is "n/a". */
export function targets(rows: ServerResult[], wantedPlayers: number): string {
  const t = rows.find((r) => r.server === 'tidecast');
  if (!t) return 'Targets: Tidecast was not run.';
  const ngx = rows.find((r) => r.server === 'nginx');
  const mark = (ok: boolean | undefined) => (ok === undefined ? 'n/a ' : ok ? 'PASS' : 'FAIL');
  const list: [boolean | undefined, string][] = [
    [
      wantedPlayers >= 1000 && t.players >= 1000 && t.withMedia === t.players,
      `1000 players of one 720p stream (ran ${t.players}, ${t.withMedia} connected with media)`,
    ],
    [
      t.fullMedia === t.players,
      `every player gets media (${t.fullMedia}/${t.players} got >=95% of the frames; delivery ${(t.delivery * 100).toFixed(1)}%)`,
    ],
    [
      ngx ? t.cpuSeconds <= ngx.cpuSeconds : undefined,
      `CPU <= 1.0x nginx-rtmp (${ratio(t.cpuSeconds, ngx?.cpuSeconds)})`,
    ],
    [t.latP99 <= 50, `latency p99 <= 50 ms (${f1(t.latP99)} ms)`],
    [t.peakRssBytes <= 150 * 1e6, `peak RSS <= 150 MB (${(t.peakRssBytes / 1e6).toFixed(0)} MB)`],
    [t.ttffP50 <= 100, `TTFF p50 <= 100 ms (${f1(t.ttffP50)} ms)`],
  ];
  return ['Tidecast targets:', ...list.map(([ok, text]) => `  ${mark(ok)}  ${text}`)].join('\n');
}
