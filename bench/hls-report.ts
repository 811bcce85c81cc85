/** The HLS benchmark's result rows, the comparison table, details and the issue's targets. */

export type Phase = 'tidecast' | 'nginx' | 'tidecast-ll' | 'tidecast-fmp4';

export interface HlsRow {
  phase: Phase;
  label: string;
  describe: string;
  mode: 'standard' | 'll';
  clients: number;
  windowSeconds: number;
  requestsPerSecond: number;
  playlistPerSecond: number;
  blockingPerSecond: number;
  mediaPerSecond: number;
  /** socket bytes received by the clients per second */
  bytesPerSecond: number;
  /** plain playlist requests, request to last byte (ms) */
  playlistP50: number;
  playlistP99: number;
  /** LL: blocking reload answer after the part was ready (ms) */
  afterReadyP50: number;
  afterReadyP99: number;
  afterReadyMax: number;
  afterReadySamples: number;
  /** LL: blocking reload, request to answer, including the wait for the part (ms) */
  blockingP50: number;
  blockingP99: number;
  blockedShare: number;
  partKeys: number;
  partsSkipped: number;
  /** segments (standard) or parts (LL), request to last byte and to the response head (ms) */
  mediaP50: number;
  mediaP99: number;
  mediaTtfbP99: number;
  mediaMeanBytes: number;
  /** responses other than 200 and failed requests in the window, by kind */
  errors: Record<string, number>;
  errorCount: number;
  clientsWithMedia: number;
  clientsCurrent: number;
  connects: number;
  cpuSeconds: number;
  cpuSysSeconds: number;
  /** server CPU % of a core with the publisher only, before the clients started */
  idleCpuPct: number;
  peakRssBytes: number;
  endRssBytes: number;
  clientCpuPct: number;
  clientSysPct: number;
  clientMaxLagMs: number;
  reads: number;
  publisherMaxLateMs: number;
  publisherCongested: number;
  machineBusyPct: number;
  otherCpuPct: number;
  cores: number;
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : n > 0 ? 'inf' : '-');
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : n > 0 ? 'inf' : '-');
const mib = (b: number) => b / (1024 * 1024);
const ratio = (a: number, b: number | undefined) =>
  b === undefined || !(b > 0) || !Number.isFinite(a) ? '-' : `${(a / b).toFixed(2)}x`;

/** The standard-HLS Tidecast row to compare with nginx: MPEG-TS first (the same format as nginx-rtmp's). */
function tidecastStandard(rows: HlsRow[]): HlsRow | undefined {
  return rows.find((r) => r.phase === 'tidecast') ?? rows.find((r) => r.phase === 'tidecast-fmp4');
}

export function table(rows: HlsRow[]): string {
  const ngx = rows.find((r) => r.phase === 'nginx');
  const head = [
    'server (load)',
    'clients w/ media',
    'req/s',
    'MB/s',
    'playlist p50 / p99 ms',
    'LL reload after part ready p50 / p99 ms',
    'segment or part p50 / p99 ms',
    'errors',
    'server CPU s (% core)',
    'CPU vs nginx',
    'peak RSS MiB',
    'client CPU %',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const cells = [
      `${r.label} (${r.mode === 'll' ? 'LL-HLS' : 'standard'})`,
      `${r.clientsWithMedia}/${r.clients}`,
      f0(r.requestsPerSecond),
      f1(r.bytesPerSecond / 1e6),
      `${f1(r.playlistP50)} / ${f1(r.playlistP99)}`,
      r.mode === 'll' ? `${f1(r.afterReadyP50)} / ${f1(r.afterReadyP99)}` : '-',
      `${f1(r.mediaP50)} / ${f1(r.mediaP99)}`,
      String(r.errorCount),
      `${r.cpuSeconds.toFixed(2)} (${f0((r.cpuSeconds / r.windowSeconds) * 100)}%)`,
      r.mode === 'standard' ? ratio(r.cpuSeconds, ngx?.cpuSeconds) : '-',
      f0(mib(r.peakRssBytes)),
      f0(r.clientCpuPct),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export function details(r: HlsRow): string {
  const errors = Object.entries(r.errors)
    .map(([k, v]) => `${k} x${v}`)
    .join(', ');
  const out = [
    `${r.label} (${r.describe}):`,
    `  window ${r.windowSeconds.toFixed(1)} s, ${r.clients} ${r.mode === 'll' ? 'LL-HLS' : 'standard'} clients (${r.clientsWithMedia} got media in the window,` +
      ` ${r.clientsCurrent} got some in its last 3 s); ${f0(r.requestsPerSecond)} req/s =` +
      ` ${f0(r.playlistPerSecond)} playlist + ${f0(r.blockingPerSecond)} blocking + ${f0(r.mediaPerSecond)} media;` +
      ` ${f1(r.bytesPerSecond / 1e6)} MB/s; errors: ${errors || 'none'}; ${r.connects} new connections`,
    `  server CPU ${f0((r.cpuSeconds / r.windowSeconds) * 100)}% of a core (${f0((r.cpuSysSeconds / Math.max(1e-9, r.cpuSeconds)) * 100)}% in the kernel),` +
      ` ${f1((r.cpuSeconds * 1e6) / Math.max(1, r.requestsPerSecond * r.windowSeconds))} µs per request;` +
      ` publisher only (before the clients) ${f0(r.idleCpuPct)}%; peak RSS ${f0(mib(r.peakRssBytes))} MiB, ${f0(mib(r.endRssBytes))} MiB at the end`,
    `  media: p50 ${f1(r.mediaP50)} ms, p99 ${f1(r.mediaP99)} ms, first byte p99 ${f1(r.mediaTtfbP99)} ms, ${f0(r.mediaMeanBytes / 1024)} KiB mean`,
  ];
  if (r.mode === 'll')
    out.push(
      `  blocking reloads: request to answer p50 ${f1(r.blockingP50)} / p99 ${f1(r.blockingP99)} ms;` +
        ` ${f0(r.blockedShare * 100)}% were sent before their part was ready; after ready p50 ${f1(r.afterReadyP50)}` +
        ` p99 ${f1(r.afterReadyP99)} max ${f1(r.afterReadyMax)} ms over ${r.afterReadySamples} answers, ${r.partKeys} parts;` +
        ` ${r.partsSkipped} parts skipped by clients that fell behind`,
    );
  out.push(
    `  bench: clients ${f0(r.clientCpuPct)}% of a core (kernel ${f0(r.clientSysPct)}%), ${f0(r.reads / r.windowSeconds)} reads/s,` +
      ` max event-loop lag ${f1(r.clientMaxLagMs)} ms; publisher late by up to ${f1(r.publisherMaxLateMs)} ms,` +
      ` ${r.publisherCongested} congested writes; machine busy ${f0(r.machineBusyPct)}% of ${r.cores} cores` +
      ` (other processes ${f0(r.otherCpuPct)}% of a core)`,
  );
  return out.join('\n');
}

/** The issue's targets; nothing is adjusted and a missing comparison is "n/a". */
export function targets(rows: HlsRow[], wanted: number): string {
  const ll = rows.find((r) => r.phase === 'tidecast-ll');
  const t = tidecastStandard(rows);
  const ngx = rows.find((r) => r.phase === 'nginx');
  const mark = (ok: boolean | undefined) => (ok === undefined ? 'n/a ' : ok ? 'PASS' : 'FAIL');
  const list: [boolean | undefined, string][] = [
    [
      ll ? wanted >= 1000 && ll.clients >= 1000 && ll.clientsWithMedia === ll.clients : undefined,
      ll
        ? `1000 LL-HLS clients on one stream (ran ${ll.clients}, ${ll.clientsWithMedia} got parts in the window, ${ll.errorCount} errors)`
        : '1000 LL-HLS clients on one stream (LL-HLS phase not run)',
    ],
    [
      ll ? ll.afterReadyP99 < 50 : undefined,
      `LL-HLS playlist p99 after the part is ready < 50 ms (${ll ? `${f1(ll.afterReadyP99)} ms` : 'not run'})`,
    ],
    [
      t && ngx ? t.cpuSeconds <= 1.5 * ngx.cpuSeconds : undefined,
      `server CPU <= 1.5x nginx-rtmp for the same standard-HLS requests (${t && ngx ? `${t.label} ${t.cpuSeconds.toFixed(2)} s vs ${ngx.cpuSeconds.toFixed(2)} s = ${ratio(t.cpuSeconds, ngx.cpuSeconds)}` : 'not run'})`,
    ],
  ];
  return ['Tidecast HLS targets:', ...list.map(([ok, text]) => `  ${mark(ok)}  ${text}`)].join('\n');
}
