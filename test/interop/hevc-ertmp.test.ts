import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RtmpMessage } from '../../src/protocols/rtmp/message.js';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import { type HevcPublisher, type HevcSource, loadHevcSource, publishHevc } from '../helpers/hevc-source.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hasTool, media, run } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const tools = hasTool('ffmpeg') && hasTool('ffprobe');

interface Player {
  client: RtmpClient;
  media: RtmpMessage[];
}

async function rtmpPlayer(url: string, connectExtra: Record<string, string[]>): Promise<Player> {
  const media: RtmpMessage[] = [];
  const client = new RtmpClient(parseRtmpUrl(url), { onMedia: (m) => media.push(m) });
  await client.connectApp(connectExtra);
  const status = await client.play();
  if (status !== 'NetStream.Play.Start') throw new Error(`play refused: ${status}`);
  return { client, media };
}

/** The body of a GET, or '' on any failure (polled fire-and-forget). */
async function fetchText(url: string): Promise<string> {
  try {
    const r = await fetch(url);
    return r.ok ? await r.text() : '';
  } catch {
    return '';
  }
}

type ProbeStream = Record<string, unknown>;

/**
 * Enhanced RTMP HEVC ingest: no ffmpeg we can count on publishes HEVC over RTMP, so our own client does,
 * with E-RTMP v1 video messages (SequenceStart / CodedFrames with composition times / CodedFramesX,
 * FourCC 'hvc1') and legacy AAC, from the B-frame HEVC fixture. Real ffprobe/ffmpeg check the HLS output.
 */
describe.skipIf(!tools)('interop: HEVC over Enhanced RTMP comes out as hvc1 fMP4 HLS', () => {
  const name = 'hevc1';
  let dir: string;
  let src: HevcSource;
  let t: TestServer;
  let pub: HevcPublisher;
  let withFourCc: Player;
  let legacy: Player;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tidecast-hevc-'));
    src = await loadHevcSource(media('hevc-aac-720p.mp4'), dir);
    t = await startTestServer({ hls: { segmentFormat: 'fmp4', targetDuration: 1 } });
    pub = await publishHevc(t.rtmpUrl(`live/${name}`), src);
    await t.waitLive('live', name);
    withFourCc = await rtmpPlayer(t.rtmpUrl(`live/${name}`), { fourCcList: ['hvc1'] });
    legacy = await rtmpPlayer(t.rtmpUrl(`live/${name}`), {});
  });
  afterAll(async () => {
    withFourCc?.client.close();
    legacy?.client.close();
    pub?.stop();
    await pub?.done;
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the publisher really sends E-RTMP: B-frames with composition times, CodedFrames and CodedFramesX', () => {
    expect(src.videoFrames).toBe(300);
    const video = src.frames.filter((f) => f.type === 9).map((f) => f.payload);
    expect(video.every((p) => (p[0] & 0x80) !== 0 && p.toString('latin1', 1, 5) === 'hvc1')).toBe(true);
    expect(video.some((p) => (p[0] & 0x0f) === 1 && p.readIntBE(5, 3) > 0)).toBe(true);
    expect(video.some((p) => (p[0] & 0x0f) === 3)).toBe(true);
    expect(src.hvcC[0]).toBe(1);
    expect(src.hvcC[21] & 3).toBe(3);
  });

  it('the stream info says hvc1 1280x720 (and AAC)', () => {
    const info = t.server.registry.get('live', name)?.info;
    expect(info).toMatchObject({ videoCodec: 'hvc1', width: 1280, height: 720, audioCodec: 'mp4a' });
  });

  it('HLS fMP4: init.mp4 + two segments are hvc1 HEVC 1280x720 + AAC and decode without errors', async () => {
    const playlistUrl = t.httpUrl(`live/${name}/index.m3u8`);
    let text = '';
    await until(
      () => {
        void fetchText(playlistUrl)
          .then((x) => {
            text = x;
          })
          .catch(() => {});
        return (text.match(/#EXTINF/g)?.length ?? 0) >= 2;
      },
      25_000,
      `2 segments in ${playlistUrl}`,
    );
    const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(text);
    expect(map, text).not.toBeNull();
    const segs = text.split('\n').filter((l) => l.length > 0 && !l.startsWith('#'));
    expect(segs.length).toBeGreaterThanOrEqual(2);
    const get = async (uri: string) => {
      const r = await fetch(new URL(uri, playlistUrl));
      expect(r.status, uri).toBe(200);
      return Buffer.from(await r.arrayBuffer());
    };
    const init = await get(map![1]);
    expect(init.includes(Buffer.from('hvc1'))).toBe(true);
    expect(init.includes(Buffer.from('hvcC'))).toBe(true);
    const file = join(dir, 'all.mp4');
    writeFileSync(file, Buffer.concat([init, await get(segs[0]), await get(segs[1])]));

    const p = await run('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file]);
    expect(p.code, p.stderr).toBe(0);
    expect(p.stderr.trim()).toBe('');
    const streams = JSON.parse(p.stdout).streams as ProbeStream[];
    expect(streams).toContainEqual(
      expect.objectContaining({ codec_name: 'hevc', codec_tag_string: 'hvc1', width: 1280, height: 720 }),
    );
    expect(streams).toContainEqual(expect.objectContaining({ codec_name: 'aac', sample_rate: '48000' }));

    const d = await run('ffmpeg', ['-v', 'error', '-i', file, '-f', 'null', '-']);
    expect(d.code).toBe(0);
    expect(d.stderr.trim()).toBe('');

    // composition offsets survived: decoded pictures come out every 1/30 s in presentation order
    const frameArgs = ['-select_streams', 'v', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0'];
    const f = await run('ffprobe', ['-v', 'error', ...frameArgs, file]);
    const pts = f.stdout
      .split('\n')
      .filter((l) => /^\d/.test(l))
      .map((l) => Number.parseFloat(l)); // side data adds ',' and blank lines
    expect(pts.length).toBeGreaterThanOrEqual(50);
    const steps = pts.slice(1).map((x, i) => x - pts[i]);
    expect(Math.min(...steps)).toBeGreaterThan(0.02);
    expect(Math.max(...steps)).toBeLessThan(0.05);
  });

  it('ffprobe reads HEVC 1280x720 + AAC straight from the playlist URL', async () => {
    const p = await run(
      'ffprobe',
      [
        '-v',
        'error',
        '-show_entries',
        'stream=codec_name,codec_tag_string,width,height',
        '-of',
        'json',
        t.httpUrl(`live/${name}/index.m3u8`),
      ],
      20_000,
    );
    expect(p.code, p.stderr).toBe(0);
    const streams = JSON.parse(p.stdout).streams as ProbeStream[];
    expect(streams).toContainEqual(expect.objectContaining({ codec_name: 'hevc', width: 1280, height: 720 }));
    expect(streams).toContainEqual(expect.objectContaining({ codec_name: 'aac' }));
  });

  it('an RTMP player that announced hvc1 gets the E-RTMP video untouched; one that did not gets no video', async () => {
    await until(() => withFourCc.media.filter((m) => m.type === 9).length >= 90, 15_000, '90 video messages');
    const video = withFourCc.media.filter((m) => m.type === 9);
    // the SequenceStart first, byte for byte, then keyframe-first coded frames exactly as published
    expect(video[0].payload.equals(src.videoHeader)).toBe(true);
    expect(video[1].payload[0] >> 4).toBe(0x8 | 1); // E-RTMP keyframe
    for (const m of video.slice(1)) {
      const sent = pub.sent.get(`9:${m.timestamp}`);
      expect(sent, `video at ${m.timestamp}`).toBeDefined();
      expect(m.payload.equals(sent!), `video at ${m.timestamp}`).toBe(true);
    }
    const types = new Set(video.slice(1).map((m) => m.payload[0] & 0x0f));
    expect([...types].sort()).toEqual([1, 3]);
    const audio = withFourCc.media.filter((m) => m.type === 8);
    expect(audio.length).toBeGreaterThan(50);

    // the legacy player is live (audio flows) but never sees an E-RTMP video message
    const legacyAudio = legacy.media.filter((m) => m.type === 8);
    expect(legacyAudio.length).toBeGreaterThan(50);
    expect(legacy.media.filter((m) => m.type === 9)).toEqual([]);
    for (const m of legacyAudio.slice(1)) {
      expect(m.payload.equals(pub.sent.get(`8:${m.timestamp}`)!)).toBe(true);
    }
  });

  // Regression (fixed: Ingest now flags a sequence header by its payload length): a header was cached only when
  // `frame.body.length > 5`, meant to skip an empty E-RTMP SequenceStart (1 + FourCC bytes). A legacy AAC
  // sequence header with the usual 2-byte AudioSpecificConfig is 4 bytes (0xAF 0x00 + ASC), so it is never
  // cached and a player that joins after the publisher started gets no AAC configuration. ffmpeg-published
  // tests miss it: ffmpeg's ASC carries a 3-byte SBR sync extension (5 bytes).
  it('a late-joining RTMP player receives the AAC sequence header (2-byte ASC)', async () => {
    await until(() => withFourCc.media.filter((m) => m.type === 8).length > 0, 10_000, 'audio');
    expect(src.audioHeader.length).toBe(4);
    expect(withFourCc.media.some((m) => m.type === 8 && m.payload.equals(src.audioHeader))).toBe(true);
  });
});
