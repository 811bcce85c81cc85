/**
 * Real browser players (headless Chromium via playwright-core) against a live ffmpeg-published stream:
 * hls.js (HLS and LL-HLS), mpegts.js (HTTP-FLV and WS-FLV), dash.js (DASH, once the endpoint exists).
 * Skips loudly without /usr/bin/chromium or ffmpeg (.ci/run installs both).
 */
import type { ChildProcess } from 'node:child_process';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ffmpegPublish, hasTool, media, stop } from '../helpers/tools.js';
import {
  hasChromium,
  launchChromium,
  median,
  type Playback,
  type StaticSite,
  sleep,
  startStaticSite,
  watch,
} from './harness.js';

const ready = hasChromium() && hasTool('ffmpeg');

/** Polls until the playlist lists `segments` segments (players then start at a steady live edge). */
async function playlistReady(t: TestServer, path: string, segments: number): Promise<void> {
  const end = Date.now() + 30_000;
  let text = '';
  while ((text.match(/#EXTINF/g)?.length ?? 0) < segments) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${segments} segments in ${path}:\n${text}`);
    await sleep(200);
    text = await fetch(t.httpUrl(path))
      .then((r) => (r.ok ? r.text() : ''))
      .catch(() => '');
  }
}

/** Newest segment number in a media playlist, or -1. */
function lastMsn(text: string): number {
  const seq = /#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text);
  const n = text.match(/#EXTINF/g)?.length ?? 0;
  return seq && n ? Number(seq[1]) + n - 1 : -1;
}

/**
 * Resolves right after a new segment is listed. A standard-HLS player starts 3 target durations behind the
 * newest listed segment's end, so its latency is 3 x 2 s plus the age of that segment at load (0..2 s,
 * depending on when the page happens to load). Loading just after a segment closes removes that phase
 * and leaves what the server adds (PDT accuracy, segment availability delay) to be measured.
 */
async function nextSegment(t: TestServer, path: string): Promise<void> {
  const get = () =>
    fetch(t.httpUrl(path))
      .then((r) => (r.ok ? r.text() : ''))
      .catch(() => '');
  const first = lastMsn(await get());
  const end = Date.now() + 10_000;
  while (lastMsn(await get()) === first) {
    if (Date.now() > end) throw new Error(`no new segment in ${path} within 10 s`);
    await sleep(50);
  }
}

const fmt = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(' ');

function report(what: string, p: Playback): void {
  const lat = p.latencies.length
    ? `latency median ${median(p.latencies).toFixed(2)} s (min ${Math.min(...p.latencies).toFixed(2)}, max ${Math.max(...p.latencies).toFixed(2)}, n=${p.latencies.length})`
    : 'latency n/a';
  console.log(
    `[browser] ${what}: currentTime +${p.advanced.toFixed(2)} s over ${p.wall.toFixed(2)} s wall; ${lat}; ` +
      `buffer ahead ${p.last.bufferAhead.toFixed(2)} s; non-fatal errors: ${p.last.errors.length ? p.last.errors.join(', ') : 'none'}`,
  );
}

/** Playback advanced in step with the wall clock and nothing fatal happened. */
function expectPlayed(p: Playback, minAdvance = 3): void {
  const why = JSON.stringify({ last: p.last, log: p.log.slice(-20) }, null, 1);
  expect(p.last.fatal, why).toEqual([]);
  expect(p.wall, why).toBeGreaterThanOrEqual(5);
  expect(p.advanced, why).toBeGreaterThanOrEqual(minAdvance);
  expect(p.last.width, why).toBe(640);
}

describe.skipIf(!ready)('real browser players (headless Chromium)', () => {
  // standard HLS (MPEG-TS segments, 2 s target) + HTTP-FLV/WS-FLV on one server;
  // LL-HLS (fMP4, 0.25 s parts, 1 s target) + DASH on another
  let std: TestServer;
  let ll: TestServer;
  const pubs: ChildProcess[] = [];
  let site: StaticSite;
  let browser: Browser;
  let ctx: BrowserContext | undefined;

  beforeAll(async () => {
    [std, ll] = await Promise.all([
      startTestServer({ hls: { segmentFormat: 'mpegts', targetDuration: 2, lowLatency: false } }),
      startTestServer({
        hls: { segmentFormat: 'fmp4', lowLatency: true, partTarget: 0.25, targetDuration: 1 },
      }),
    ]);
    pubs.push(ffmpegPublish(std.rtmpUrl('live/b'), media('h264-aac-360p.flv')));
    pubs.push(ffmpegPublish(ll.rtmpUrl('live/ll'), media('h264-aac-360p.flv')));
    [site, browser] = await Promise.all([startStaticSite(), launchChromium()]);
    await Promise.all([std.waitLive('live', 'b'), ll.waitLive('live', 'll')]);
  });

  afterEach(async () => {
    await ctx?.close();
    ctx = undefined;
  });

  afterAll(async () => {
    await ctx?.close();
    await browser?.close();
    await Promise.all(pubs.map((p) => stop(p)));
    await Promise.all([std?.close(), ll?.close(), site?.close()]);
  });

  async function newPage() {
    ctx = await browser.newContext();
    return ctx.newPage();
  }

  it('hls.js plays standard HLS (MPEG-TS, 2 s segments); latency < 8 s', async () => {
    await playlistReady(std, 'live/b/index.m3u8', 3);
    const page = await newPage();
    await nextSegment(std, 'live/b/index.m3u8');
    const p = await watch(page, site.url('hls', std.httpUrl('live/b/index.m3u8')), {
      settleMs: 1000,
      measureMs: 6000,
      everyMs: 500,
    });
    report('hls.js, HLS mpegts targetDuration 2', p);
    expectPlayed(p);
    expect(p.latencies.length).toBeGreaterThan(0);
    expect(median(p.latencies)).toBeLessThan(8);
  });

  it('hls.js plays LL-HLS (fMP4 parts 0.25 s, lowLatencyMode); latency < 2 s', async () => {
    await playlistReady(ll, 'live/ll/index.m3u8', 2);
    const page = await newPage();
    const p = await watch(page, site.url('hls', ll.httpUrl('live/ll/index.m3u8'), { ll: '1' }), {
      settleMs: 2000,
      measureMs: 6000,
      everyMs: 250,
    });
    report('hls.js, LL-HLS fmp4 partTarget 0.25 targetDuration 1', p);
    console.log(
      `[browser] LL-HLS latency samples (s): ${fmt(p.latencies)}; hls.latency ${p.last.hlsLatency?.toFixed(2)} s, hls.targetLatency ${p.last.targetLatency?.toFixed(2)} s`,
    );
    expectPlayed(p);
    expect(p.latencies.length).toBeGreaterThan(5);
    expect(median(p.latencies)).toBeLessThan(2);
  });

  for (const scheme of ['http', 'ws'] as const) {
    it(`mpegts.js plays ${scheme === 'http' ? 'HTTP' : 'WS'}-FLV`, async () => {
      const src = std.httpUrl('live/b.flv').replace(/^http:/, `${scheme}:`);
      const page = await newPage();
      const p = await watch(page, site.url('mpegts', src), { settleMs: 1000, measureMs: 6000, everyMs: 500 });
      report(`mpegts.js, ${scheme === 'http' ? 'HTTP' : 'WS'}-FLV`, p);
      expectPlayed(p);
      expect(p.last.errors).toEqual([]);
    });
  }

  it('dash.js plays /live/<name>/index.mpd', async (test) => {
    // the DASH endpoint may not exist yet: a 404 for a live stream whose HLS playlist is up means "no route"
    await playlistReady(ll, 'live/ll/index.m3u8', 2);
    let status = 0;
    const end = Date.now() + 10_000;
    while (status !== 200 && status !== 404 && Date.now() < end) {
      status = await fetch(ll.httpUrl('live/ll/index.mpd')).then((r) => r.status);
      if (status !== 200) await sleep(250);
    }
    if (status === 404) {
      console.warn(
        '\n*** DASH endpoint /live/<name>/index.mpd is MISSING (404 for a live fMP4 stream; not implemented, or hls.dash is off): ' +
          'the dash.js browser test is SKIPPED. It runs automatically once the server serves index.mpd. ***\n',
      );
      test.skip('DASH endpoint /live/<name>/index.mpd is not implemented yet (404)');
    }
    expect(status).toBe(200);
    const page = await newPage();
    const p = await watch(page, site.url('dash', ll.httpUrl('live/ll/index.mpd')), {
      settleMs: 2000,
      measureMs: 6000,
      everyMs: 500,
    });
    report('dash.js, DASH (fMP4)', p);
    expectPlayed(p);
  });
});
