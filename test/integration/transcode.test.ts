/**
 * Transcoding with a real ffmpeg: an ABR ladder (720p copy + 480p + 360p) from a 720p source, published back into
 * the hub as `{stream}_{name}`; the multivariant playlist; key frames aligned across variants; crash restart;
 * no ffmpeg left after close. A second server: on-demand start, the DASH MPD with every rendition, an exec hook.
 * Skips loudly without ffmpeg/ffprobe.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAttributes } from '../../src/formats/hls/check.js';
import { segments, text } from '../helpers/hls-fetch.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ffmpegPublish, hasTool, media, run, stop } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const ready = hasTool('ffmpeg') && hasTool('ffprobe');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** ffmpeg children of this test process other than the publishers (`-re`): the transcoders and exec hooks. */
function transcoderPids(): number[] {
  const out: number[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== process.pid) continue;
      const cmd = readFileSync(`/proc/${e}/cmdline`, 'utf8').split('\0');
      if (/ffmpeg$/.test(cmd[0]) && !cmd.includes('-re')) out.push(Number(e));
    } catch {
      // gone while looking
    }
  }
  return out;
}

interface VariantLine {
  attrs: Record<string, string>;
  uri: string;
}

function parseMultivariant(body: string): VariantLine[] {
  const lines = body.split('\n');
  const out: VariantLine[] = [];
  lines.forEach((l, i) => {
    if (l.startsWith('#EXT-X-STREAM-INF:'))
      out.push({ attrs: parseAttributes(l.slice(18)), uri: lines[i + 1] });
  });
  return out;
}

/** Video packets (pts, key flag) of one downloaded segment, with ffprobe. */
async function videoPackets(url: string): Promise<Array<{ pts: number; key: boolean }>> {
  const r = await run('ffprobe', [
    '-v',
    'error',
    '-select_streams',
    'v:0',
    '-show_entries',
    'packet=pts_time,flags',
    '-of',
    'csv=p=0',
    url,
  ]);
  if (r.code !== 0) throw new Error(`ffprobe ${url}: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const [pts, flags] = l.split(',');
      return { pts: Number(pts), key: flags.startsWith('K') };
    });
}

const LADDER = [
  { name: '720p', codec: 'copy' },
  { name: '480p', height: 480, videoBitrate: 900, preset: 'ultrafast', audioBitrate: 96 },
  { name: '360p', height: 360, videoBitrate: 450, preset: 'ultrafast', audioBitrate: 64 },
];

describe.skipIf(!ready)('ABR ladder with ffmpeg (720p copy + 480p + 360p)', () => {
  let t: TestServer;
  let pub: ChildProcess;
  const names = ['abr_720p', 'abr_480p', 'abr_360p'];

  beforeAll(async () => {
    t = await startTestServer({
      hls: { segmentFormat: 'mpegts', lowLatency: false, targetDuration: 2, windowSegments: 6 },
      transcode: { restartDelayMs: 200 },
      apps: { live: { publish: 'open', play: 'open', transcode: { renditions: LADDER } } },
    });
    pub = ffmpegPublish(t.rtmpUrl('live/abr'), media('h264-aac-720p.flv'));
    await t.waitLive('live', 'abr', 20_000);
  });

  afterAll(async () => {
    if (pub) await stop(pub);
    await t?.close();
  });

  it('publishes every rendition back into the hub as {stream}_{name}', async () => {
    for (const n of names) await t.waitLive('live', n, 30_000);
    const s = t.server.transcode.stats();
    expect(s.ffmpeg?.path).toBeTruthy();
    expect(s.jobs).toHaveLength(1); // one ffmpeg for the whole ladder, and the renditions are not transcoded again
    const job = s.jobs[0];
    expect(job).toMatchObject({ kind: 'ladder', app: 'live', stream: 'abr', state: 'running' });
    expect(job.renditions.map((r) => [r.path, r.live])).toEqual(names.map((n) => [`live/${n}`, true]));
    expect(transcoderPids()).toEqual([job.pid]);
  });

  it('every variant decodes with ffmpeg at its height, over RTMP and HLS', async () => {
    const heights: Record<string, number> = { abr_720p: 720, abr_480p: 480, abr_360p: 360 };
    for (const n of names) {
      const probe = await run('ffprobe', [
        '-v',
        'error',
        '-rw_timeout',
        '15000000',
        '-select_streams',
        'v:0',
        '-show_entries',
        'stream=codec_name,width,height',
        '-of',
        'json',
        t.rtmpUrl(`live/${n}`),
      ]);
      expect(probe.code, probe.stderr).toBe(0);
      const v = JSON.parse(probe.stdout).streams[0];
      expect(v.codec_name).toBe('h264');
      expect(v.height).toBe(heights[n]);
      if (n !== 'abr_720p') expect(v.width).toBe(heights[n] === 480 ? 854 : 640);
      await segments(t, `live/${n}/index.m3u8`, 2);
      const dec = await run('ffmpeg', [
        '-v',
        'error',
        '-i',
        t.httpUrl(`live/${n}/index.m3u8`),
        '-t',
        '3',
        '-f',
        'null',
        '-',
      ]);
      expect(dec.code, dec.stderr).toBe(0);
      expect(dec.stderr.trim()).toBe('');
    }
  });

  it('answers the multivariant playlist at the source index.m3u8', async () => {
    for (const n of names) await segments(t, `live/${n}/index.m3u8`, 2);
    const r = await text(t.httpUrl('live/abr/index.m3u8'));
    expect(r.status).toBe(200);
    expect(r.body.startsWith('#EXTM3U\n')).toBe(true);
    const vs = parseMultivariant(r.body);
    expect(vs.map((v) => v.uri)).toEqual([
      '../abr_720p/index.m3u8',
      '../abr_480p/index.m3u8',
      '../abr_360p/index.m3u8',
    ]);
    expect(vs.map((v) => v.attrs.RESOLUTION)).toEqual(['1280x720', '854x480', '640x360']);
    for (const v of vs) {
      expect(Number(v.attrs.BANDWIDTH)).toBeGreaterThan(0);
      expect(Number(v.attrs['AVERAGE-BANDWIDTH'])).toBeGreaterThan(0);
      expect(Number(v.attrs['AVERAGE-BANDWIDTH'])).toBeLessThanOrEqual(Number(v.attrs.BANDWIDTH));
      expect(v.attrs['FRAME-RATE']).toBe('30.000');
      expect(v.attrs.CODECS).toMatch(/^avc1\.[0-9a-f]{6},mp4a\.40\.2$/);
      // each variant URI resolves against the multivariant URL
      const media = await text(new URL(v.uri, t.httpUrl('live/abr/index.m3u8')).href);
      expect(media.status).toBe(200);
      expect(media.body).toContain('#EXTINF');
    }
    // highest first, and the peaks are ordered like the ladder
    const bw = vs.map((v) => Number(v.attrs.BANDWIDTH));
    expect([...bw].sort((a, b) => b - a)).toEqual(bw);
    // ffprobe reads the multivariant playlist: one program per variant, with its height
    const p = await run('ffprobe', [
      '-v',
      'error',
      '-show_entries',
      'program=program_id:stream=height',
      '-of',
      'json',
      t.httpUrl('live/abr/index.m3u8'),
    ]);
    expect(p.code, p.stderr).toBe(0);
    const heights = (JSON.parse(p.stdout).programs as Array<{ streams: Array<{ height?: number }> }>)
      .map((pr) => pr.streams.find((s) => s.height)?.height)
      .sort((a, b) => (a ?? 0) - (b ?? 0));
    expect(heights).toEqual([360, 480, 720]);
  });

  /** Key frame times (ms) of the last `count` segments of each variant, compared over their common range. */
  async function alignedKeyframes(count: number): Promise<number[]> {
    const keyTimes: number[][] = [];
    for (const n of names) {
      const uris = await segments(t, `live/${n}/index.m3u8`, count);
      const keys: number[] = [];
      for (const u of uris.slice(-count)) {
        const pkts = await videoPackets(t.httpUrl(`live/${n}/${u}`));
        expect(pkts[0]?.key, `${n}/${u} starts with a key frame`).toBe(true);
        for (const p of pkts) if (p.key) keys.push(Math.round(p.pts * 1000));
      }
      keyTimes.push(keys);
    }
    const lo = Math.max(...keyTimes.map((k) => k[0]));
    const hi = Math.min(...keyTimes.map((k) => k.at(-1)!));
    const within = keyTimes.map((k) => k.filter((x) => x >= lo && x <= hi));
    expect(within[0].length, JSON.stringify(keyTimes)).toBeGreaterThanOrEqual(2);
    expect(within[1], JSON.stringify(keyTimes)).toEqual(within[0]);
    expect(within[2], JSON.stringify(keyTimes)).toEqual(within[0]);
    return within[0];
  }

  it('key frames align across variants: same key frame times, every segment starts on one', async () => {
    const keys = await alignedKeyframes(4);
    console.log(`[transcode] key frames (ms) in the common range: ${keys.join(' ')}`);
  });

  it('shows ffmpeg progress (fps, speed) in stats()', async () => {
    await until(() => (t.server.transcode.stats().jobs[0]?.progress?.fps ?? 0) > 0, 10_000, 'progress');
    const job = t.server.transcode.stats().jobs[0];
    console.log(
      `[transcode] ladder progress: fps ${job.progress?.fps}, speed ${job.progress?.speed}x, out_time ${job.progress?.outTimeMs} ms`,
    );
    expect(job.progress?.speed).toBeGreaterThan(0);
    expect(job.input?.bytesOut).toBeGreaterThan(0);
  });

  it('a killed ffmpeg is restarted and the renditions carry on', async () => {
    const before = t.server.transcode.stats().jobs[0];
    const pid = before.pid!;
    const frames = before.renditions.map((r) => r.frames);
    process.kill(pid, 'SIGKILL');
    await until(
      () => {
        const j = t.server.transcode.stats().jobs[0];
        return j.restarts >= 1 && j.state === 'running' && j.pid !== pid;
      },
      15_000,
      'restart',
    );
    const after = t.server.transcode.stats().jobs[0];
    expect(after.lastExit?.signal).toBe('SIGKILL');
    expect(after.lastExit?.requested).toBe(false);
    // new frames on every rendition after the restart
    await until(
      () => t.server.transcode.stats().jobs[0].renditions.every((r, i) => r.frames > frames[i] + 60),
      20_000,
      'frames after restart',
    );
    for (const n of names) expect(t.server.registry.get('live', n)?.live).toBe(true);
    expect(transcoderPids()).toEqual([after.pid]);
    // the variant playlists keep growing
    const seq = async (n: string) => {
      const b = (await text(t.httpUrl(`live/${n}/index.m3u8`))).body;
      return Number(/#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(b)?.[1] ?? -1) + (b.match(/#EXTINF/g)?.length ?? 0);
    };
    const s0 = await seq('abr_360p');
    const end = Date.now() + 15_000;
    let s1 = s0;
    while (s1 <= s0 && Date.now() < end) {
      await sleep(500);
      s1 = await seq('abr_360p');
    }
    expect(s1).toBeGreaterThan(s0);
    // still aligned, and on the source's timeline, after the restart
    const end2 = Date.now() + 15_000;
    while (s1 < s0 + 3 && Date.now() < end2) {
      await sleep(500);
      s1 = await seq('abr_360p');
    }
    const keys = await alignedKeyframes(3);
    console.log(`[transcode] key frames (ms) after the restart: ${keys.join(' ')}`);
  });

  it('server close leaves no ffmpeg behind', async () => {
    const pid = t.server.transcode.stats().jobs[0].pid!;
    expect(transcoderPids()).toContain(pid);
    await t.close();
    expect(transcoderPids()).toEqual([]);
    expect(() => readFileSync(`/proc/${pid}/stat`)).toThrow(); // reaped, not a zombie
  });
});

describe.skipIf(!ready)('on demand, DASH and an exec hook (360p source)', () => {
  let t: TestServer;
  let pub: ChildProcess;

  beforeAll(async () => {
    t = await startTestServer({
      hls: { segmentFormat: 'fmp4', lowLatency: false, targetDuration: 1, dash: true },
      apps: {
        live: {
          publish: 'open',
          play: 'open',
          transcode: {
            startOn: 'demand',
            renditions: [
              { name: 'src', codec: 'copy' },
              { name: 'low', height: 180, videoBitrate: 150, preset: 'ultrafast' },
            ],
            exec: [
              {
                args: [
                  '-v',
                  'error',
                  '-f',
                  'flv',
                  '-i',
                  '{input}',
                  '-c',
                  'copy',
                  '-f',
                  'flv',
                  '{rtmp}/{app}/{name}_exec',
                ],
              },
            ],
          },
        },
      },
    });
    pub = ffmpegPublish(t.rtmpUrl('live/d'), media('h264-aac-360p.flv'));
    await t.waitLive('live', 'd', 20_000);
  });

  afterAll(async () => {
    if (pub) await stop(pub);
    await t?.close();
    expect(transcoderPids()).toEqual([]);
  });

  it('starts nothing until a rendition is asked for', async () => {
    await sleep(1500);
    const jobs = t.server.transcode.stats().jobs;
    expect(jobs.map((j) => [j.kind, j.state, j.demanded])).toEqual([
      ['ladder', 'idle', false],
      ['exec', 'idle', false],
    ]);
    expect(t.server.registry.get('live', 'd_low')?.live).not.toBe(true);
  });

  it('the first request of the multivariant playlist starts the ladder and waits for it', async () => {
    let r = await text(t.httpUrl('live/d/index.m3u8'));
    const end = Date.now() + 20_000;
    while (r.status === 503 && Date.now() < end) {
      await sleep(500);
      r = await text(t.httpUrl('live/d/index.m3u8'));
    }
    expect(r.status, r.body).toBe(200);
    const vs = parseMultivariant(r.body);
    expect(vs.map((v) => v.uri).sort()).toEqual(['../d_low/index.m3u8', '../d_src/index.m3u8']);
    expect(vs.find((v) => v.uri.includes('low'))?.attrs.RESOLUTION).toBe('320x180');
    const ladder = t.server.transcode.stats().jobs.find((j) => j.kind === 'ladder');
    expect(ladder?.state).toBe('running');
  });

  it('index.mpd lists the renditions as Representations of one video AdaptationSet', async () => {
    const r = await text(t.httpUrl('live/d/index.mpd'));
    expect(r.status, r.body).toBe(200);
    const video = r.body.slice(r.body.indexOf('contentType="video"'), r.body.indexOf('</AdaptationSet>'));
    expect(video.match(/<Representation /g)).toHaveLength(2);
    expect(video).toContain('media="../d_src/dash/v/$Number$.m4s"');
    expect(video).toContain('media="../d_low/dash/v/$Number$.m4s"');
    expect(video).toMatch(/id="low"[^>]*codecs="avc1\.[0-9a-f]{6}"[^>]*width="320" height="180"/);
    expect(r.body).toContain('contentType="audio"');
    // every init and the first listed segment of each representation resolve
    const base = t.httpUrl('live/d/index.mpd');
    for (const m of r.body.matchAll(
      /<SegmentTemplate[^>]*startNumber="(\d+)" initialization="([^"]+)" media="([^"]+)"/g,
    )) {
      const [, start, init, media] = m;
      expect((await fetch(new URL(init, base))).status).toBe(200);
      expect((await fetch(new URL(media.replace('$Number$', start), base))).status).toBe(200);
    }
  });

  it('an exec hook on demand: a player of its output starts it; its output is not transcoded again', async () => {
    const probe = await run('ffprobe', [
      '-v',
      'error',
      '-rw_timeout',
      '20000000',
      '-select_streams',
      'v:0',
      '-show_entries',
      'stream=height',
      '-of',
      'csv=p=0',
      t.rtmpUrl('live/d_exec'),
    ]);
    expect(probe.code, probe.stderr).toBe(0);
    expect(probe.stdout.trim()).toBe('360');
    const jobs = t.server.transcode.stats().jobs;
    expect(jobs.find((j) => j.kind === 'exec')?.state).toBe('running');
    expect(jobs.every((j) => j.stream === 'd')).toBe(true);
  });

  it('the end of the source stops every child and ends the renditions', async () => {
    await stop(pub);
    await until(() => t.server.transcode.stats().jobs.length === 0, 15_000, 'jobs stopped');
    await until(() => transcoderPids().length === 0, 5_000, 'no ffmpeg');
    await until(() => !t.server.registry.get('live', 'd_low')?.live, 5_000, 'rendition ended');
  });
});

describe.skipIf(!ready)('ABR behind signed play URLs', () => {
  const secret = 'abr-signing-secret-0123456789';
  let t: TestServer;
  let pub: ChildProcess;

  beforeAll(async () => {
    t = await startTestServer({
      hls: { segmentFormat: 'fmp4', lowLatency: true, targetDuration: 1 },
      access: { secrets: [secret] },
      apps: {
        live: {
          publish: 'open',
          play: 'signed',
          transcode: {
            renditions: [
              { name: 'src', codec: 'copy' },
              { name: 'low', height: 180, videoBitrate: 150, preset: 'ultrafast' },
            ],
          },
        },
      },
    });
    pub = ffmpegPublish(t.rtmpUrl('live/s'), media('h264-aac-360p.flv'));
    await t.waitLive('live', 's', 20_000);
  });

  afterAll(async () => {
    if (pub) await stop(pub);
    await t?.close();
  });

  it('the multivariant playlist needs the signature; each variant gets a media token for its own stream', async () => {
    const { signUrl } = await import('../../src/access/signed-url.js');
    const signed = signUrl({ secret, path: '/live/s', expires: Math.floor(Date.now() / 1000) + 600 });
    const query = signed.slice(signed.indexOf('?'));
    expect((await text(t.httpUrl('live/s/index.m3u8'))).status).toBe(403);
    let r = await text(t.httpUrl(`live/s/index.m3u8${query}`));
    const end = Date.now() + 30_000;
    while ((r.status === 503 || parseMultivariant(r.body).length < 2) && Date.now() < end) {
      await sleep(500);
      r = await text(t.httpUrl(`live/s/index.m3u8${query}`));
    }
    expect(r.status, r.body).toBe(200);
    const vs = parseMultivariant(r.body);
    const low = vs.find((v) => v.uri.startsWith('../s_low/'))?.uri ?? '';
    const src = vs.find((v) => v.uri.startsWith('../s_src/'))?.uri ?? '';
    expect(low).toMatch(/^\.\.\/s_low\/index\.m3u8\?hs=/);
    // a variant playlist opens with its own token, and lists its segments with one
    const variant = await text(t.httpUrl(`live/s/${low}`));
    expect(variant.status, variant.body).toBe(200);
    expect(variant.body).toMatch(/\?hs=/);
    // LL-HLS: each variant reports where the other rendition is (8216bis §4.4.5.4), with that stream's own token
    let reports = variant.body;
    for (let i = 0; i < 20 && !reports.includes('#EXT-X-RENDITION-REPORT'); i++) {
      await sleep(500);
      reports = (await text(t.httpUrl(`live/s/${low}`))).body;
    }
    expect(reports).toMatch(
      /^#EXT-X-RENDITION-REPORT:URI="\.\.\/s_src\/index\.m3u8\?hs=[^"]+",LAST-MSN=\d+/m,
    );
    expect(reports).not.toMatch(/RENDITION-REPORT:URI="\.\.\/s_low\//);
    // without a token, or with another variant's token, it stays closed
    expect((await text(t.httpUrl('live/s_low/index.m3u8'))).status).toBe(403);
    const srcToken = src.slice(src.indexOf('?'));
    expect((await text(t.httpUrl(`live/s_low/index.m3u8${srcToken}`))).status).toBe(403);
  });
});
