import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';

/** The system Chromium (Debian package `chromium`; .ci/run installs it). CHROMIUM_PATH overrides. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export function hasChromium(): boolean {
  if (existsSync(CHROMIUM)) return true;
  console.warn(
    `\n*** ${CHROMIUM} is NOT installed: the real-browser player tests are SKIPPED. Run .ci/run (it installs chromium). ***\n`,
  );
  return false;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}

/** Player libraries from node_modules; the first existing file of each list is served. */
const LIBS: Record<string, string[]> = {
  'hls.js': ['node_modules/hls.js/dist/hls.min.js', 'node_modules/hls.js/dist/hls.js'],
  'dash.js': [
    'node_modules/dashjs/dist/modern/umd/dash.all.min.js',
    'node_modules/dashjs/dist/dash.all.min.js',
    'node_modules/dashjs/dist/legacy/umd/dash.all.min.js',
  ],
  'mpegts.js': ['node_modules/mpegts.js/dist/mpegts.js'],
};

function libFile(name: string): string {
  const found = LIBS[name]?.map((p) => resolve(p)).find((p) => existsSync(p));
  if (!found) throw new Error(`player library ${name} not found in node_modules (npm ci?)`);
  return found;
}

/**
 * Common page state: `window.state` collects errors, `window.sample()` returns a snapshot with the
 * video's currentTime plus whatever the player-specific `extra()` adds (latency etc.).
 */
const COMMON = `
window.state = { errors: [], fatal: [] };
const q = new URLSearchParams(location.search);
const src = q.get('src');
const video = document.getElementById('v');
let extra = () => ({});
video.addEventListener('error', () => state.fatal.push('video: ' + (video.error && video.error.code) + ' ' + (video.error && video.error.message)));
function bufferedEnd() { const b = video.buffered; return b.length ? b.end(b.length - 1) : 0; }
window.sample = () => ({
  t: video.currentTime, wall: Date.now(), paused: video.paused, readyState: video.readyState,
  width: video.videoWidth, bufferAhead: bufferedEnd() - video.currentTime,
  errors: state.errors.slice(), fatal: state.fatal.slice(), ...extra(),
});
`;

/** One page per player; the stream URL and options come from the query string. */
const PLAYERS: Record<string, { lib: string; script: string }> = {
  hls: {
    lib: 'hls.js',
    script: `
const hls = new Hls({ lowLatencyMode: q.get('ll') === '1', enableWorker: true });
window.player = hls;
hls.on(Hls.Events.ERROR, (_e, d) => (d.fatal ? state.fatal : state.errors).push(d.type + ': ' + d.details));
hls.on(Hls.Events.MANIFEST_PARSED, () => video.play().catch((e) => state.errors.push('play(): ' + e)));
hls.loadSource(src);
hls.attachMedia(video);
extra = () => ({
  // EXT-X-PROGRAM-DATE-TIME of the frame on screen (stamped by the server at ingest) vs now
  latency: hls.playingDate ? (Date.now() - hls.playingDate.getTime()) / 1000 : null,
  hlsLatency: hls.latency,
  targetLatency: hls.targetLatency,
});
`,
  },
  mpegts: {
    lib: 'mpegts.js',
    script: `
if (!mpegts.getFeatureList().mseLivePlayback) state.fatal.push('mpegts.js: no MSE live playback');
const p = mpegts.createPlayer({ type: 'flv', isLive: true, url: src }, { enableWorker: false, lazyLoad: false });
window.player = p;
p.on(mpegts.Events.ERROR, (type, detail, info) => state.fatal.push(type + ': ' + detail + ' ' + JSON.stringify(info)));
p.attachMediaElement(video);
p.load();
Promise.resolve(p.play()).catch((e) => state.errors.push('play(): ' + e));
`,
  },
  dash: {
    lib: 'dash.js',
    script: `
const p = dashjs.MediaPlayer().create();
window.player = p;
p.on(dashjs.MediaPlayer.events.ERROR, (e) => state.fatal.push('dash.js: ' + JSON.stringify(e.error || e)));
p.on(dashjs.MediaPlayer.events.PLAYBACK_ERROR, (e) => state.fatal.push('playback: ' + JSON.stringify(e.error || e)));
p.initialize(video, src, true);
extra = () => ({ latency: p.isReady() ? p.getCurrentLiveLatency() : null });
`,
  },
};

function pageHtml(kind: string): string {
  const p = PLAYERS[kind];
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${kind}</title></head>
<body>
<video id="v" muted autoplay playsinline width="640" height="360"></video>
<script src="/lib/${p.lib}"></script>
<script>${COMMON}${p.script}</script>
</body></html>`;
}

export interface StaticSite {
  url: (kind: 'hls' | 'mpegts' | 'dash', src: string, extra?: Record<string, string>) => string;
  close: () => Promise<void>;
}

/** The test pages and player libraries, on 127.0.0.1 and a free port. */
export async function startStaticSite(): Promise<StaticSite> {
  const libs = new Map(Object.keys(LIBS).map((n) => [n, readFileSync(libFile(n))]));
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    const lib = /^\/lib\/(.+)$/.exec(path)?.[1];
    const page = /^\/(\w+)\.html$/.exec(path)?.[1];
    if (lib && libs.has(lib)) {
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(libs.get(lib));
    } else if (page && Object.hasOwn(PLAYERS, page)) {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(pageHtml(page));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: (kind, src, extra = {}) =>
      `http://127.0.0.1:${port}/${kind}.html?${new URLSearchParams({ src, ...extra })}`,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

export interface Sample {
  t: number;
  wall: number;
  paused: boolean;
  readyState: number;
  width: number;
  bufferAhead: number;
  errors: string[];
  fatal: string[];
  latency?: number | null;
  hlsLatency?: number;
  targetLatency?: number | null;
}

export const sample = (page: Page): Promise<Sample> =>
  page.evaluate(() => (window as unknown as { sample: () => Sample }).sample());

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

export interface Playback {
  /** currentTime gained over the measuring window, seconds */
  advanced: number;
  /** wall time of the measuring window, seconds */
  wall: number;
  samples: Sample[];
  /** the latency samples (seconds) that were numbers */
  latencies: number[];
  last: Sample;
  /** console errors and page errors, for failure messages */
  log: string[];
}

/**
 * Loads the page, waits for playback to start (currentTime > 0), lets it settle, then samples
 * every `everyMs` for `measureMs`. Throws (with the page's log) when playback never starts.
 */
export async function watch(
  page: Page,
  url: string,
  { settleMs = 2000, measureMs = 6000, everyMs = 250, startTimeoutMs = 25_000 } = {},
): Promise<Playback> {
  const log: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') log.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => log.push(`pageerror: ${e.message}`));
  await page.goto(url);
  const end = Date.now() + startTimeoutMs;
  let s = await sample(page);
  while (!(s.t > 0 && !s.paused) && s.fatal.length === 0) {
    if (Date.now() > end)
      throw new Error(
        `playback did not start in ${startTimeoutMs} ms: ${JSON.stringify(s)}\n${log.join('\n')}`,
      );
    await sleep(200);
    s = await sample(page);
  }
  if (s.fatal.length === 0) await sleep(settleMs);
  const samples: Sample[] = [await sample(page)];
  const stop = Date.now() + measureMs;
  while (Date.now() < stop && samples.at(-1)!.fatal.length === 0) {
    await sleep(everyMs);
    samples.push(await sample(page));
  }
  const first = samples[0];
  const last = samples.at(-1)!;
  return {
    advanced: last.t - first.t,
    wall: (last.wall - first.wall) / 1000,
    samples,
    latencies: samples.map((x) => x.latency).filter((x): x is number => typeof x === 'number'),
    last,
    log,
  };
}
