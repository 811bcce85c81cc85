import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { publishFlv } from '../helpers/flv-publisher.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hasTool, media, run } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

/** The body of a GET, or '' on any failure (it is polled fire-and-forget). */
async function text(t: TestServer, path: string): Promise<string> {
  try {
    const r = await fetch(t.httpUrl(path));
    return r.ok ? await r.text() : '';
  } catch {
    return '';
  }
}

const msns = (playlist: string) => [...playlist.matchAll(/^seg(\d+)\.m4s$/gm)].map((m) => Number(m[1]));

describe.skipIf(!hasTool('ffmpeg'))('HLS playlist lifecycle: end, return, discontinuity', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({ hls: { segmentFormat: 'fmp4', targetDuration: 1, lowLatency: false } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('ENDLIST when the publisher leaves; a returning publisher continues the playlist after a discontinuity', async () => {
    const first = await publishFlv(t.rtmpUrl('live/life'), media('h264-aac-360p.flv'));
    let pl = '';
    await until(
      () => {
        void text(t, 'live/life/index.m3u8').then((x) => {
          pl = x;
        });
        return msns(pl).length >= 2;
      },
      20_000,
      'segments',
    );
    first.stop();
    first.client.close();
    await until(
      () => {
        void text(t, 'live/life/index.m3u8').then((x) => {
          pl = x;
        });
        return pl.includes('#EXT-X-ENDLIST');
      },
      10_000,
      'ENDLIST',
    );
    expect(pl).not.toContain('#EXT-X-PRELOAD-HINT');
    const lastBefore = Math.max(...msns(pl));

    const second = await publishFlv(t.rtmpUrl('live/life'), media('h264-aac-360p.flv'));
    try {
      await until(
        () => {
          void text(t, 'live/life/index.m3u8').then((x) => {
            pl = x;
          });
          return !pl.includes('#EXT-X-ENDLIST') && msns(pl).some((n) => n > lastBefore + 1);
        },
        20_000,
        'the playlist going on',
      );
      expect(pl).toContain('#EXT-X-DISCONTINUITY');
      const listed = msns(pl);
      for (let i = 1; i < listed.length; i++) expect(listed[i]).toBe(listed[i - 1] + 1);
    } finally {
      second.stop();
      second.client.close();
    }
  });
});

describe.skipIf(!hasTool('ffmpeg'))('HLS disk mirror (hls.diskDir)', () => {
  it('writes init, segments and playlist under <dir>/<app>/<stream>/ and deletes segments that leave the window', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidecast-hls-'));
    const t = await startTestServer({
      hls: { segmentFormat: 'mpegts', targetDuration: 1, windowSegments: 3, diskDir: dir },
    });
    const pub = await publishFlv(t.rtmpUrl('live/disk'), media('h264-aac-360p.flv'), { speed: 2 });
    const out = join(dir, 'live', 'disk');
    try {
      await until(() => existsSync(join(out, 'seg7.ts')), 20_000, 'eight segments on disk');
      await new Promise((r) => setTimeout(r, 300));
      const files = readdirSync(out).filter((f) => f.endsWith('.ts'));
      expect(files.length).toBeLessThanOrEqual(3 + 2 + 1);
      expect(files).not.toContain('seg0.ts');
      const playlist = readFileSync(join(out, 'index.m3u8'), 'utf8');
      expect(playlist).toMatch(/#EXT-X-MEDIA-SEQUENCE:\d+/);
      const p = await run('ffprobe', [
        '-v',
        'error',
        '-show_entries',
        'stream=codec_name',
        '-of',
        'csv',
        join(out, 'index.m3u8'),
      ]);
      expect(p.code, p.stderr).toBe(0);
      expect(p.stdout).toContain('h264');
    } finally {
      pub.stop();
      pub.client.close();
      await t.close();
    }
  });
});

describe.skipIf(!hasTool('ffmpeg'))('HLS started on first request (hls.startOn: request)', () => {
  it('no segmenter until a request; it starts on the first one and stops when nobody asks', async () => {
    const t = await startTestServer({ hls: { startOn: 'request', targetDuration: 1, keepAfterEndMs: 1500 } });
    const pub = await publishFlv(t.rtmpUrl('live/lazy'), media('h264-aac-360p.flv'));
    const hlsSubs = () =>
      [...(t.server.registry.get('live', 'lazy')?.subscribers ?? [])].filter((s) => s.protocol === 'hls');
    try {
      await t.waitLive('live', 'lazy');
      await new Promise((r) => setTimeout(r, 500));
      expect(hlsSubs()).toHaveLength(0);
      const first = await fetch(t.httpUrl('live/lazy/index.m3u8'));
      expect([200, 503]).toContain(first.status);
      if (first.status === 503) expect(first.headers.get('retry-after')).toBe('1');
      expect(hlsSubs()).toHaveLength(1);
      let pl = '';
      await until(
        () => {
          void text(t, 'live/lazy/index.m3u8').then((x) => {
            pl = x;
          });
          return pl.includes('#EXTINF');
        },
        15_000,
        'first segment',
      );
      await until(() => hlsSubs().length === 0, 8000, 'idle segmenter freed');
    } finally {
      pub.stop();
      pub.client.close();
      await t.close();
    }
  });
});
