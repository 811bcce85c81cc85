import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ffmpegPublish, hasTool, media, run, stop } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const tools = hasTool('ffmpeg') && hasTool('ffprobe');

/**
 * ffmpeg's warnings and errors, minus one known client quirk: ffmpeg 5.1's HLS reader re-reads EXT-X-MAP after each
 * live playlist reload and then logs "Found duplicated MOOV Atom"; it does the same on ffmpeg's own live fMP4 HLS
 * output served by a static web server (measured), so it says nothing about our segments.
 */
function ffmpegComplaints(stderr: string): string[] {
  return stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/Found duplicated MOOV Atom|Last message repeated/.test(l));
}

async function playlistReady(t: TestServer, path: string, segments = 3): Promise<string> {
  let text = '';
  await until(
    () => {
      void fetch(t.httpUrl(path))
        .then((r) => (r.ok ? r.text() : ''))
        .then((x) => {
          text = x;
        })
        .catch(() => {});
      return (text.match(/#EXTINF/g)?.length ?? 0) >= segments;
    },
    30_000,
    `${segments} segments in ${path}`,
  );
  return text;
}

for (const format of ['mpegts', 'fmp4'] as const) {
  describe.skipIf(!tools)(`HLS (${format}) from a live ffmpeg-published stream`, () => {
    let t: TestServer;
    let pub: ChildProcess;
    beforeAll(async () => {
      t = await startTestServer({ hls: { segmentFormat: format, targetDuration: 1 } });
      pub = ffmpegPublish(t.rtmpUrl('live/h'), media('h264-aac-360p.flv'));
      await t.waitLive('live', 'h');
    });
    afterAll(async () => {
      await stop(pub);
      await t.close();
    });

    it('serves a live media playlist with segments, PDT and the right headers', async () => {
      const text = await playlistReady(t, 'live/h/index.m3u8');
      expect(text.startsWith('#EXTM3U')).toBe(true);
      expect(text).toMatch(/#EXT-X-TARGETDURATION:1/);
      expect(text).toMatch(/#EXT-X-PROGRAM-DATE-TIME:/);
      expect(text).not.toMatch(/#EXT-X-ENDLIST/);
      if (format === 'fmp4') expect(text).toMatch(/#EXT-X-MAP:URI="init\.mp4/);
      const res = await fetch(t.httpUrl('live/h/index.m3u8'));
      expect(res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      const seg = text.split('\n').find((l) => l.startsWith('seg'));
      const s = await fetch(t.httpUrl(`live/h/${seg}`));
      expect(s.status).toBe(200);
      expect(s.headers.get('cache-control')).toMatch(/immutable/);
      expect(s.headers.get('etag')).toBeTruthy();
    });

    it('ffprobe reads codecs from the playlist and ffmpeg decodes 10 s with no errors or warnings', async () => {
      await playlistReady(t, 'live/h/index.m3u8');
      const url = t.httpUrl('live/h/index.m3u8');
      const p = await run('ffprobe', [
        '-v',
        'error',
        '-show_entries',
        'stream=codec_name,width,height',
        '-of',
        'json',
        url,
      ]);
      expect(p.code, p.stderr).toBe(0);
      const streams = JSON.parse(p.stdout).streams as Array<Record<string, unknown>>;
      expect(streams).toContainEqual(
        expect.objectContaining({ codec_name: 'h264', width: 640, height: 360 }),
      );
      expect(streams).toContainEqual(expect.objectContaining({ codec_name: 'aac' }));
      const d = await run('ffmpeg', ['-v', 'warning', '-i', url, '-t', '10', '-f', 'null', '-'], 60_000);
      expect(d.code).toBe(0);
      expect(ffmpegComplaints(d.stderr)).toEqual([]);
    });

    it('404 with a clear body for an unknown stream', async () => {
      const r = await fetch(t.httpUrl('live/nothing/index.m3u8'));
      expect(r.status).toBe(404);
      expect(await r.text()).toMatch(/not found/);
    });
  });
}

describe.skipIf(!tools)('Low-Latency HLS: parts and blocking playlist reload', () => {
  let t: TestServer;
  let pub: ChildProcess;
  beforeAll(async () => {
    t = await startTestServer({
      hls: { segmentFormat: 'fmp4', lowLatency: true, partTarget: 0.25, targetDuration: 1 },
    });
    pub = ffmpegPublish(t.rtmpUrl('live/ll'), media('h264-aac-360p.flv'));
    await t.waitLive('live', 'll');
  });
  afterAll(async () => {
    await stop(pub);
    await t.close();
  });

  it('lists parts, PART-INF, SERVER-CONTROL and a preload hint', async () => {
    const text = await playlistReady(t, 'live/ll/index.m3u8', 2);
    expect(text).toMatch(/#EXT-X-PART-INF:PART-TARGET=0\.25/);
    expect(text).toMatch(/#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES/);
    expect(text).toMatch(/#EXT-X-PART:DURATION=[\d.]+,URI="part\d+\.\d+\.m4s"/);
    expect(text).toMatch(/#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part\d+\.\d+\.m4s"/);
  });

  it('a blocking reload for the next part returns once it exists; too far ahead is 400', async () => {
    const text = await playlistReady(t, 'live/ll/index.m3u8', 2);
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part(\d+)\.(\d+)\.m4s"/.exec(text);
    expect(hint).not.toBeNull();
    const [msn, part] = [Number(hint![1]), Number(hint![2])];
    const t0 = Date.now();
    const r = await fetch(t.httpUrl(`live/ll/index.m3u8?_HLS_msn=${msn}&_HLS_part=${part}`));
    const waited = Date.now() - t0;
    expect(r.status).toBe(200);
    const body = await r.text();
    expect(body).toContain(`part${msn}.${part}.m4s`);
    expect(waited).toBeLessThan(3000);
    const far = await fetch(t.httpUrl(`live/ll/index.m3u8?_HLS_msn=${msn + 10}`));
    expect(far.status).toBe(400);
    const noMsn = await fetch(t.httpUrl('live/ll/index.m3u8?_HLS_part=1'));
    expect(noMsn.status).toBe(400);
    // a listed part is served as fMP4 (moof first)
    const listedPart = /URI="(part\d+\.\d+\.m4s)"/.exec(body)?.[1];
    const p = await fetch(t.httpUrl(`live/ll/${listedPart}`));
    expect(p.status).toBe(200);
    expect(
      Buffer.from(await p.arrayBuffer())
        .subarray(4, 8)
        .toString(),
    ).toBe('moof');
  });
});

/** DASH at the default 2 s segments (ffmpeg 5.1's DASH reader re-reads a segment after an MPD refresh with 1 s ones). */
describe.skipIf(!tools)('MPEG-DASH from the same segmenter', () => {
  let t: TestServer;
  let pub: ChildProcess;
  beforeAll(async () => {
    t = await startTestServer({ hls: { segmentFormat: 'fmp4' } });
    pub = ffmpegPublish(t.rtmpUrl('live/dash'), media('h264-aac-360p.flv'));
    await t.waitLive('live', 'dash');
  });
  afterAll(async () => {
    await stop(pub);
    await t.close();
  });

  it('MPEG-DASH from the same segmenter: ffprobe and ffmpeg read the live MPD', async () => {
    await playlistReady(t, 'live/dash/index.m3u8');
    const mpd = await (await fetch(t.httpUrl('live/dash/index.mpd'))).text();
    expect(mpd).toMatch(/type="dynamic"/);
    expect(mpd).toMatch(
      /<UTCTiming schemeIdUri="urn:mpeg:dash:utc:http-iso:2014" value="http:\/\/127\.0\.0\.1:\d+\/time"/,
    );
    const time = await (await fetch(t.httpUrl('time'))).text();
    expect(Math.abs(Date.parse(time) - Date.now())).toBeLessThan(5000);
    const url = t.httpUrl('live/dash/index.mpd');
    const p = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'stream=codec_name,width,height',
      '-of',
      'json',
      url,
    ]);
    expect(p.code, p.stderr).toBe(0);
    const streams = JSON.parse(p.stdout).streams as Array<Record<string, unknown>>;
    expect(streams).toContainEqual(expect.objectContaining({ codec_name: 'h264', width: 640, height: 360 }));
    expect(streams).toContainEqual(expect.objectContaining({ codec_name: 'aac' }));
    const d = await run('ffmpeg', ['-v', 'warning', '-i', url, '-t', '10', '-f', 'null', '-'], 60_000);
    expect(d.code).toBe(0);
    expect(ffmpegComplaints(d.stderr)).toEqual([]);
  });
});
