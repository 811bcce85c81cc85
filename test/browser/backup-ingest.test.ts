/**
 * Backup ingest (failover) in a real browser: hls.js in headless Chromium plays /live/cam/index.m3u8 while
 * the primary publisher leaves (the backup takes over) and a new primary returns (switch back). The player
 * must keep playing through both switches without a fatal error and without reloading the source; the
 * server marks each switch with EXT-X-DISCONTINUITY. The same scenario with an RTMP player:
 * test/integration/backup-ingest.test.ts.
 * Skips loudly without /usr/bin/chromium or ffmpeg (.ci/run installs both).
 */
import type { ChildProcess } from 'node:child_process';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { type FlvPublisher, publishFlv } from '../helpers/flv-publisher.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ffmpegPublish, hasTool, media, stop } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';
import {
  hasChromium,
  launchChromium,
  type Sample,
  type StaticSite,
  sample,
  sleep,
  startStaticSite,
  watch,
} from './harness.js';

const ready = hasChromium() && hasTool('ffmpeg');

/** What the page saw since `installProbe`: hls.js source (re)loads, the discontinuity counters it played. */
interface Probe {
  marker: string;
  manifestLoads: number;
  attaches: number;
  ccs: number[];
  src: string;
  srcNow: string;
}

async function installProbe(page: Page): Promise<void> {
  await page.evaluate(() => {
    type Ev = { MANIFEST_LOADING: string; MEDIA_ATTACHING: string; FRAG_CHANGED: string };
    const w = window as unknown as {
      Hls: { Events: Ev };
      player: { on: (e: string, cb: (ev: string, d: { frag?: { cc: number } }) => void) => void };
      probe: Omit<Probe, 'srcNow'>;
    };
    const video = document.getElementById('v') as HTMLVideoElement;
    const probe = {
      marker: 'first-load',
      manifestLoads: 0,
      attaches: 0,
      ccs: [] as number[],
      src: video.src,
    };
    w.probe = probe;
    w.player.on(w.Hls.Events.MANIFEST_LOADING, () => {
      probe.manifestLoads++;
    });
    w.player.on(w.Hls.Events.MEDIA_ATTACHING, () => {
      probe.attaches++;
    });
    w.player.on(w.Hls.Events.FRAG_CHANGED, (_e, d) => {
      const cc = d.frag?.cc ?? -1;
      if (probe.ccs.at(-1) !== cc) probe.ccs.push(cc);
    });
  });
}

const readProbe = (page: Page): Promise<Probe> =>
  page.evaluate(() => {
    const w = window as unknown as { probe: Omit<Probe, 'srcNow'> };
    const video = document.getElementById('v') as HTMLVideoElement;
    return { ...w.probe, ccs: w.probe.ccs.slice(), srcNow: video.src };
  });

interface Stretch {
  what: string;
  samples: Sample[];
  /** currentTime gained, seconds */
  advanced: number;
  /** wall time, seconds */
  wall: number;
  /** the longest wall-clock stretch without currentTime moving, seconds */
  maxFreeze: number;
  /** EXT-X-DISCONTINUITY was listed in the media playlist at some point in the window */
  sawDiscontinuity: boolean;
  probe: Probe;
  last: Sample;
}

/**
 * Samples the page every 250 ms (and the playlist every ~500 ms) for at least `minMs`, then until
 * `done(probe)` holds (at most `maxMs`) or a fatal error shows up.
 */
async function follow(
  page: Page,
  playlistUrl: string,
  what: string,
  { minMs, maxMs, done = () => true }: { minMs: number; maxMs: number; done?: (p: Probe) => boolean },
): Promise<Stretch> {
  const start = Date.now();
  const samples: Sample[] = [await sample(page)];
  let probe = await readProbe(page);
  let sawDiscontinuity = false;
  let lastPoll = 0;
  for (;;) {
    const elapsed = Date.now() - start;
    if (samples.at(-1)!.fatal.length > 0) break;
    if (elapsed >= maxMs || (elapsed >= minMs && done(probe))) break;
    await sleep(250);
    samples.push(await sample(page));
    probe = await readProbe(page);
    if (Date.now() - lastPoll >= 500) {
      lastPoll = Date.now();
      const text = await fetch(playlistUrl)
        .then((r) => (r.ok ? r.text() : ''))
        .catch(() => '');
      if (text.includes('#EXT-X-DISCONTINUITY\n')) sawDiscontinuity = true;
    }
  }
  let maxFreeze = 0;
  let movedAt = samples[0];
  for (const s of samples.slice(1)) {
    if (s.t > movedAt.t) movedAt = s;
    else maxFreeze = Math.max(maxFreeze, (s.wall - movedAt.wall) / 1000);
  }
  const first = samples[0];
  const last = samples.at(-1)!;
  return {
    what,
    samples,
    advanced: last.t - first.t,
    wall: (last.wall - first.wall) / 1000,
    maxFreeze,
    sawDiscontinuity,
    probe,
    last,
  };
}

function report(w: Stretch): void {
  console.log(
    `[browser] failover, ${w.what}: currentTime ${w.samples[0].t.toFixed(2)} -> ${w.last.t.toFixed(2)} ` +
      `(+${w.advanced.toFixed(2)} s over ${w.wall.toFixed(2)} s wall); longest freeze ${w.maxFreeze.toFixed(2)} s; ` +
      `buffer ahead ${w.last.bufferAhead.toFixed(2)} s; played discontinuity counters [${w.probe.ccs.join(', ')}]; ` +
      `EXT-X-DISCONTINUITY in playlist: ${w.sawDiscontinuity}; non-fatal hls.js errors: ${w.last.errors.length ? w.last.errors.join(', ') : 'none'}`,
  );
}

describe.skipIf(!ready)('backup ingest in a real browser (hls.js, headless Chromium)', () => {
  let t: TestServer | undefined;
  let site: StaticSite | undefined;
  let browser: Browser | undefined;
  let ctx: BrowserContext | undefined;
  const flvPubs: FlvPublisher[] = [];
  const procs: ChildProcess[] = [];

  afterAll(async () => {
    await ctx?.close();
    await browser?.close();
    for (const p of flvPubs.splice(0)) {
      p.stop();
      p.client.close();
    }
    await Promise.all(procs.splice(0).map((p) => stop(p)));
    await Promise.all([t?.close(), site?.close()]);
  });

  it('hls.js keeps playing when the primary leaves (the backup takes over) and when a new one returns', async () => {
    t = await startTestServer({
      apps: { live: { backup: { enabled: true, stallMs: 1000 } } },
      hls: { segmentFormat: 'fmp4', targetDuration: 1, lowLatency: false },
    });
    const s = t;
    const active = () => s.server.failover.activeSource('live', 'cam');
    const playlistUrl = s.httpUrl('live/cam/index.m3u8');
    const sitePromise = Promise.all([startStaticSite(), launchChromium()]);

    const primary = await publishFlv(s.rtmpUrl('live/cam'), media('h264-aac-360p.flv'));
    flvPubs.push(primary);
    await until(() => active() === 'primary', 10_000, 'primary live');
    // the backup loops (ffmpeg -stream_loop -1): it outlives the 30 s file whatever the machine's pace
    procs.push(ffmpegPublish(s.rtmpUrl('live/cam?role=backup'), media('h264-aac-360p.flv')));
    await until(() => s.server.registry.get('live', 'cam@backup')?.live === true, 15_000, 'backup live');
    expect(active()).toBe('primary');
    [site, browser] = await sitePromise;

    // three segments listed: the player starts at a steady live edge
    const end = Date.now() + 20_000;
    let text = '';
    while ((text.match(/#EXTINF/g)?.length ?? 0) < 3) {
      if (Date.now() > end) throw new Error(`timed out waiting for 3 segments:\n${text}`);
      await sleep(200);
      text = await fetch(playlistUrl)
        .then((r) => (r.ok ? r.text() : ''))
        .catch(() => '');
    }

    ctx = await browser.newContext();
    const page = await ctx.newPage();
    let navigations = 0;
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) navigations++;
    });
    const p = await watch(page, site.url('hls', playlistUrl), {
      settleMs: 500,
      measureMs: 3000,
      everyMs: 250,
    });
    const log = p.log; // keeps collecting console errors for the failure messages
    const why = (extra: unknown) => JSON.stringify({ extra, log: log.slice(-20) }, null, 1);
    console.log(
      `[browser] failover, on the primary: currentTime +${p.advanced.toFixed(2)} s over ${p.wall.toFixed(2)} s wall`,
    );
    expect(p.last.fatal, why(p.last)).toEqual([]);
    expect(p.advanced, why(p.samples)).toBeGreaterThan(1);
    await installProbe(page);
    const ccBefore = (await readProbe(page)).ccs.at(-1) ?? 0;

    // the primary leaves: its publisher stops and disconnects
    const killedAt = Date.now();
    primary.stop();
    primary.client.close();
    await until(() => active() === 'backup', 10_000, 'switch to backup');
    console.log(
      `[browser] failover: switched to the backup ${Date.now() - killedAt} ms after the primary left`,
    );
    const toBackup = await follow(page, playlistUrl, 'after the switch to the backup', {
      minMs: 6000,
      maxMs: 15_000,
      done: (pr) => pr.ccs.some((cc) => cc > ccBefore), // the player crossed the discontinuity
    });
    report(toBackup);
    expect(toBackup.last.fatal, why(toBackup.last)).toEqual([]);
    expect(toBackup.wall).toBeGreaterThanOrEqual(5);
    expect(toBackup.advanced, why(toBackup.samples)).toBeGreaterThan(2);
    expect(toBackup.last.paused).toBe(false);
    expect(toBackup.sawDiscontinuity).toBe(true);
    expect(
      toBackup.probe.ccs.some((cc) => cc > ccBefore),
      why(toBackup.probe),
    ).toBe(true);
    expect(active()).toBe('backup');

    // a new primary publishes: back to it at its next keyframe
    const returnedAt = Date.now();
    const back = await publishFlv(s.rtmpUrl('live/cam'), media('h264-aac-360p.flv'));
    flvPubs.push(back);
    await until(() => active() === 'primary', 10_000, 'switch back to primary');
    console.log(
      `[browser] failover: switched back to the primary ${Date.now() - returnedAt} ms after it returned`,
    );
    const ccBackup = Math.max(...toBackup.probe.ccs);
    const toPrimary = await follow(page, playlistUrl, 'after the switch back to the primary', {
      minMs: 5000,
      maxMs: 15_000,
      done: (pr) => pr.ccs.some((cc) => cc > ccBackup),
    });
    report(toPrimary);
    expect(toPrimary.last.fatal, why(toPrimary.last)).toEqual([]);
    expect(toPrimary.advanced, why(toPrimary.samples)).toBeGreaterThan(2);
    expect(toPrimary.last.paused).toBe(false);
    expect(toPrimary.sawDiscontinuity).toBe(true);
    expect(
      toPrimary.probe.ccs.some((cc) => cc > ccBackup),
      why(toPrimary.probe),
    ).toBe(true);

    // one page load, one manifest load, one MediaSource: the source was never reloaded
    const pr = await readProbe(page);
    expect(navigations).toBe(1);
    expect(pr.marker).toBe('first-load');
    expect(pr.manifestLoads, why(pr)).toBe(0);
    expect(pr.attaches, why(pr)).toBe(0);
    expect(pr.srcNow).toBe(pr.src);
    expect(s.logs.filter((l) => l.msg === 'backup ingest: source switched').length).toBeGreaterThanOrEqual(3);
  }, 60_000);
});
