/**
 * An HEVC rung of the ABR ladder with a real ffmpeg (Debian's 5.1 cannot write HEVC into FLV, so the rung comes
 * back as fragmented MP4 and is republished as Enhanced RTMP `hvc1`): `{stream}_hevc` goes live with video codec
 * hvc1, its HLS fMP4 decodes as hevc, its key frames line up with the `copy` rung, the multivariant playlist lists
 * it with CODECS hvc1.*, and RTMP players that did not announce hvc1 get no FourCC frames.
 * Skips loudly without ffmpeg/ffprobe or libx265.
 */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AmfObject } from '../../src/formats/amf/types.js';
import { parseVideoTagBody } from '../../src/formats/flv/tag-body.js';
import { parseAttributes } from '../../src/formats/hls/check.js';
import type { RtmpMessage } from '../../src/protocols/rtmp/message.js';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import { segments, text } from '../helpers/hls-fetch.js';
import { startTestServer, TEST_API_TOKEN, type TestServer } from '../helpers/server.js';
import { ffmpegPublish, hasTool, media, run, stop } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

function hasLibx265(): boolean {
  try {
    return execFileSync('ffmpeg', ['-hide_banner', '-encoders'], { encoding: 'utf8' }).includes('libx265');
  } catch {
    return false;
  }
}

const ready = hasTool('ffmpeg') && hasTool('ffprobe') && hasLibx265();
if (!ready) console.warn('[transcode-hevc] SKIPPED: needs ffmpeg with libx265 and ffprobe on PATH');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Video packets (pts, key flag) of one fMP4 segment (init + segment concatenated), with ffprobe. */
async function videoPackets(
  t: TestServer,
  name: string,
  uri: string,
): Promise<Array<{ pts: number; key: boolean }>> {
  const playlist = (await text(t.httpUrl(`live/${name}/index.m3u8`))).body;
  const init = /#EXT-X-MAP:URI="([^"]+)"/.exec(playlist)?.[1];
  const parts = [init, uri].filter((x): x is string => !!x);
  const bufs = await Promise.all(
    parts.map(async (p) => Buffer.from(await (await fetch(t.httpUrl(`live/${name}/${p}`))).arrayBuffer())),
  );
  const file = `/tmp/tidecast-hevc-${process.pid}-${name}.mp4`;
  writeFileSync(file, Buffer.concat(bufs));
  try {
    const r = await run('ffprobe', [
      ...['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,flags'],
      ...['-of', 'csv=p=0', file],
    ]);
    if (r.code !== 0) throw new Error(`ffprobe ${name}/${uri}: ${r.stderr}`);
    return r.stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const [pts, flags] = l.split(',');
        return { pts: Number(pts), key: flags.startsWith('K') };
      });
  } finally {
    rmSync(file, { force: true });
  }
}

describe.skipIf(!ready)('HEVC rung: fMP4 from ffmpeg, republished as Enhanced RTMP hvc1', () => {
  let t: TestServer;
  let pub: ChildProcess;
  const names = ['h_src', 'h_hevc'];

  beforeAll(async () => {
    t = await startTestServer({
      hls: { segmentFormat: 'fmp4', lowLatency: false, targetDuration: 1, windowSegments: 8 },
      apps: {
        live: {
          publish: 'open',
          play: 'open',
          transcode: {
            renditions: [
              { name: 'src', codec: 'copy' },
              { name: 'hevc', codec: 'hevc', height: 360, videoBitrate: 600, preset: 'ultrafast' },
            ],
          },
        },
      },
    });
    pub = ffmpegPublish(t.rtmpUrl('live/h'), media('h264-aac-360p.flv'));
    await t.waitLive('live', 'h', 20_000);
  }, 40_000);

  afterAll(async () => {
    if (pub) await stop(pub);
    await t?.close();
  });

  it('publishes {stream}_hevc, whose stream info shows video codec hvc1', async () => {
    for (const n of names) await t.waitLive('live', n, 30_000);
    const job = t.server.transcode.stats().jobs[0];
    expect(job.renditions.map((r) => [r.path, r.live])).toEqual(names.map((n) => [`live/${n}`, true]));
    const info = t.server.registry.get('live', 'h_hevc')?.info;
    expect(info).toMatchObject({ videoCodec: 'hvc1', width: 640, height: 360, audioCodec: 'mp4a' });
    const api = await fetch(t.httpUrl('api/v1/streams/live/h_hevc'), {
      headers: { authorization: `Bearer ${TEST_API_TOKEN}` },
    });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { video?: { codec: string; height?: number } };
    console.log(`[transcode-hevc] API stream info: ${JSON.stringify(body.video)}`);
    expect(body.video?.codec).toBe('hvc1');
    expect(t.logs.some((l) => String(l.msg).includes('bad fMP4'))).toBe(false);
  }, 60_000);

  it('HLS fMP4 of {stream}_hevc is read by ffprobe as hevc, 640x360', async () => {
    await segments(t, 'live/h_hevc/index.m3u8', 2, 40_000);
    const probe = await run('ffprobe', [
      ...[
        '-v',
        'error',
        '-show_entries',
        'stream=codec_type,codec_name,codec_tag_string,profile,width,height',
      ],
      ...['-of', 'compact', t.httpUrl('live/h_hevc/index.m3u8')],
    ]);
    console.log(`[transcode-hevc] ffprobe of live/h_hevc/index.m3u8:\n${probe.stdout.trim()}`);
    expect(probe.code, probe.stderr).toBe(0);
    expect(probe.stdout).toMatch(/codec_name=hevc/);
    expect(probe.stdout).toMatch(/width=640\|height=360/);
    expect(probe.stdout).toMatch(/codec_name=aac/);
    const dec = await run('ffmpeg', [
      ...['-v', 'error', '-i', t.httpUrl('live/h_hevc/index.m3u8'), '-t', '2', '-f', 'null', '-'],
    ]);
    expect(dec.code, dec.stderr).toBe(0);
    expect(dec.stderr.trim()).toBe('');
  }, 60_000);

  it('the multivariant playlist lists it with CODECS hvc1.*', async () => {
    for (const n of names) await segments(t, `live/${n}/index.m3u8`, 2, 40_000);
    const r = await text(t.httpUrl('live/h/index.m3u8'));
    expect(r.status, r.body).toBe(200);
    const lines = r.body.split('\n');
    const variants = lines.flatMap((l, i) =>
      l.startsWith('#EXT-X-STREAM-INF:') ? [{ attrs: parseAttributes(l.slice(18)), uri: lines[i + 1] }] : [],
    );
    const hevc = variants.find((v) => v.uri.startsWith('../h_hevc/'));
    console.log(`[transcode-hevc] multivariant HEVC line: ${JSON.stringify(hevc)}`);
    expect(hevc?.attrs.CODECS).toMatch(/^hvc1\.[^,]+,mp4a\.40\.2$/);
    expect(hevc?.attrs.RESOLUTION).toBe('640x360');
    expect(variants.find((v) => v.uri.startsWith('../h_src/'))?.attrs.CODECS).toMatch(/^avc1\./);
  }, 60_000);

  it('HEVC key frames align with the source (copy rung): same times, every segment starts on one', async () => {
    const count = 4;
    const keyTimes: number[][] = [];
    for (const n of names) {
      const uris = await segments(t, `live/${n}/index.m3u8`, count, 40_000);
      const keys: number[] = [];
      for (const u of uris.slice(-count)) {
        const pkts = await videoPackets(t, n, u);
        expect(pkts[0]?.key, `${n}/${u} starts with a key frame`).toBe(true);
        for (const p of pkts) if (p.key) keys.push(Math.round(p.pts * 1000));
      }
      keyTimes.push(keys);
    }
    const lo = Math.max(...keyTimes.map((k) => k[0]));
    const hi = Math.min(...keyTimes.map((k) => k.at(-1)!));
    const within = keyTimes.map((k) => k.filter((x) => x >= lo && x <= hi));
    console.log(
      `[transcode-hevc] key frames (ms) src: ${keyTimes[0].join(' ')} | hevc: ${keyTimes[1].join(' ')}`,
    );
    expect(within[0].length, JSON.stringify(keyTimes)).toBeGreaterThanOrEqual(2);
    expect(within[1], JSON.stringify(keyTimes)).toEqual(within[0]);
  }, 90_000);

  it('RTMP: a player that announced hvc1 gets E-RTMP hvc1; one that did not gets no FourCC frames', async () => {
    const player = async (extra: AmfObject) => {
      const msgs: RtmpMessage[] = [];
      const c = new RtmpClient(parseRtmpUrl(t.rtmpUrl('live/h_hevc')), { onMedia: (m) => msgs.push(m) });
      await c.connectApp(extra);
      void c.play().catch(() => {});
      return { c, msgs };
    };
    const modern = await player({ fourCcList: ['hvc1'] });
    const legacy = await player({});
    try {
      await until(() => modern.msgs.filter((m) => m.type === 9).length >= 10, 15_000, 'hvc1 video');
      const video = modern.msgs.filter((m) => m.type === 9).map((m) => parseVideoTagBody(m.payload));
      expect(video.every((v) => v.enhanced && v.codec === 'hvc1')).toBe(true);
      expect(video[0].isSequenceHeader).toBe(true);
      expect(video.find((v) => !v.isSequenceHeader)?.keyframe).toBe(true);
      expect(modern.msgs.some((m) => m.type === 8)).toBe(true);
      await sleep(500);
      const legacyVideo = legacy.msgs.filter((m) => m.type === 9).map((m) => parseVideoTagBody(m.payload));
      expect(legacyVideo.filter((v) => v.enhanced)).toEqual([]);
      expect(legacy.msgs.some((m) => m.type === 8)).toBe(true); // the legacy AAC still plays
    } finally {
      modern.c.close();
      legacy.c.close();
    }
  }, 40_000);

  it('a killed ffmpeg is restarted and the HEVC rendition carries on from a key frame', async () => {
    const before = t.server.transcode.stats().jobs[0];
    const frames = before.renditions[1].frames;
    process.kill(before.pid!, 'SIGKILL');
    await until(
      () => {
        const j = t.server.transcode.stats().jobs[0];
        return j.restarts >= 1 && j.state === 'running' && j.renditions[1].frames > frames + 50;
      },
      30_000,
      'HEVC frames after the restart',
    );
    expect(t.server.registry.get('live', 'h_hevc')?.live).toBe(true);
    expect(t.logs.some((l) => String(l.msg).includes('bad fMP4'))).toBe(false);
  }, 40_000);

  it('HTTP-FLV carries the rendition as Enhanced FLV hvc1 tags', async () => {
    const ctl = new AbortController();
    const res = await fetch(t.httpUrl('live/h_hevc.flv'), { signal: ctl.signal });
    const { FlvReader } = await import('../../src/formats/flv/flv-reader.js');
    const reader = new FlvReader();
    const tags: Array<{ type: number; body: Buffer }> = [];
    const body = res.body!.getReader();
    while (tags.filter((x) => x.type === 9).length < 5) {
      const { value, done } = await body.read();
      if (done) break;
      tags.push(...reader.push(Buffer.from(value)));
    }
    ctl.abort();
    const v = tags.filter((x) => x.type === 9).map((x) => parseVideoTagBody(x.body));
    expect(v[0].isSequenceHeader && v[0].codec === 'hvc1').toBe(true);
  }, 30_000);
});
