/**
 * ABR in a real browser: hls.js plays the multivariant playlist of a transcoded 720p stream (720p copy, 480p, 360p)
 * and, when Chromium's bandwidth is capped (CDP Network.emulateNetworkConditions), switches to a lower variant.
 * Skips loudly without /usr/bin/chromium or ffmpeg (.ci/run installs both).
 */
import type { ChildProcess } from 'node:child_process';
import type { Browser, BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ffmpegPublish, hasTool, media, stop } from '../helpers/tools.js';
import {
  hasChromium,
  launchChromium,
  type StaticSite,
  sample,
  sleep,
  startStaticSite,
  watch,
} from './harness.js';

const ready = hasChromium() && hasTool('ffmpeg');

interface AbrState {
  current: number;
  auto: boolean;
  levels: Array<{ height: number; bitrate: number }>;
  switches: number[];
  bandwidthEstimate: number;
}

const abrState = (page: import('playwright-core').Page): Promise<AbrState> =>
  page.evaluate(() => {
    const w = window as unknown as {
      player: {
        currentLevel: number;
        autoLevelEnabled: boolean;
        levels: Array<{ height: number; bitrate: number }>;
        bandwidthEstimate: number;
      };
      switches?: number[];
    };
    return {
      current: w.player.currentLevel,
      auto: w.player.autoLevelEnabled,
      levels: w.player.levels.map((l) => ({ height: l.height, bitrate: l.bitrate })),
      switches: w.switches ?? [],
      bandwidthEstimate: w.player.bandwidthEstimate,
    };
  });

async function waitFor<T>(
  get: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let v = await get();
  while (!ok(v)) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(v)}`);
    await sleep(250);
    v = await get();
  }
  return v;
}

describe.skipIf(!ready)('ABR in hls.js (headless Chromium)', () => {
  let t: TestServer;
  let pub: ChildProcess;
  let site: StaticSite;
  let browser: Browser;
  let ctx: BrowserContext | undefined;

  beforeAll(async () => {
    t = await startTestServer({
      hls: { segmentFormat: 'mpegts', lowLatency: false, targetDuration: 2 },
      apps: {
        live: {
          publish: 'open',
          play: 'open',
          transcode: {
            renditions: [
              { name: '720p', codec: 'copy' },
              { name: '480p', height: 480, videoBitrate: 1000, preset: 'ultrafast', audioBitrate: 96 },
              { name: '360p', height: 360, videoBitrate: 400, preset: 'ultrafast', audioBitrate: 64 },
            ],
          },
        },
      },
    });
    pub = ffmpegPublish(t.rtmpUrl('live/abr'), media('h264-aac-720p.flv'));
    [site, browser] = await Promise.all([startStaticSite(), launchChromium()]);
    for (const n of ['abr_720p', 'abr_480p', 'abr_360p']) await t.waitLive('live', n, 30_000);
    // three segments in every variant: the player starts at a steady live edge
    for (const n of ['abr_720p', 'abr_480p', 'abr_360p']) {
      await waitFor(
        () =>
          fetch(t.httpUrl(`live/${n}/index.m3u8`))
            .then((r) => (r.ok ? r.text() : ''))
            .catch(() => ''),
        (text) => (text.match(/#EXTINF/g)?.length ?? 0) >= 3,
        30_000,
        `${n} segments`,
      );
    }
  });

  afterAll(async () => {
    await ctx?.close();
    await browser?.close();
    if (pub) await stop(pub);
    await Promise.all([t?.close(), site?.close()]);
  });

  it('plays the multivariant playlist and switches down when the bandwidth is capped', async () => {
    ctx = await browser.newContext();
    const page = await ctx.newPage();
    const cdp = await ctx.newCDPSession(page);
    await cdp.send('Network.enable');
    const p = await watch(page, site.url('hls', t.httpUrl('live/abr/index.m3u8')), {
      settleMs: 500,
      measureMs: 1000,
      everyMs: 250,
    });
    expect(p.last.fatal, p.log.join('\n')).toEqual([]);
    await page.evaluate(() => {
      const w = window as unknown as {
        Hls: { Events: { LEVEL_SWITCHED: string } };
        player: { on: (e: string, cb: (ev: string, d: { level: number }) => void) => void };
        switches: number[];
      };
      w.switches = [];
      w.player.on(w.Hls.Events.LEVEL_SWITCHED, (_e, d) => w.switches.push(d.level));
    });
    const first = await abrState(page);
    expect(first.auto).toBe(true);
    expect(first.levels.map((l) => l.height).sort((a, b) => a - b)).toEqual([360, 480, 720]);
    const top = first.levels.length - 1;
    // unthrottled on loopback, hls.js climbs to the top variant
    const high = await waitFor(
      () => abrState(page),
      (s) => s.current === top,
      40_000,
      'the top variant',
    );
    console.log(
      `[browser] ABR: levels ${JSON.stringify(high.levels)}; on the top level (${high.levels[top].height}p), estimate ${Math.round(high.bandwidthEstimate / 1000)} kbit/s`,
    );
    // cap the page at 600 kbit/s: below the 480p and 720p variants
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: 20,
      downloadThroughput: 75_000,
      uploadThroughput: 1_000_000,
    });
    const before = (await abrState(page)).switches.length;
    const low = await waitFor(
      () => abrState(page),
      (s) => s.current < top && s.switches.slice(before).some((l) => l < top),
      45_000,
      'a switch to a lower variant',
    );
    const after = await sample(page);
    console.log(
      `[browser] ABR: capped at 600 kbit/s -> level ${low.current} (${low.levels[low.current].height}p); switches ${low.switches.join(' -> ')}; estimate ${Math.round(low.bandwidthEstimate / 1000)} kbit/s; fatal ${after.fatal.length}`,
    );
    expect(after.fatal).toEqual([]);
    expect(low.levels[low.current].height).toBeLessThan(720);
  });
});
