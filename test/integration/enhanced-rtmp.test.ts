import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlvReader, type FlvTag } from '../../src/formats/flv/flv-reader.js';
import { parseAudioTagBody, parseVideoTagBody } from '../../src/formats/flv/tag-body.js';
import type { RtmpMessage } from '../../src/protocols/rtmp/message.js';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import { type FlvPublisher, publishFlv } from '../helpers/flv-publisher.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hasTool, media, run } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const VECTOR = '../shared/vectors/enhanced-flv/testsrc.flv';

async function player(url: string, connectExtra = {}) {
  const msgs: RtmpMessage[] = [];
  const c = new RtmpClient(parseRtmpUrl(url), { onMedia: (m) => msgs.push(m) });
  const info = await c.connectApp(connectExtra);
  void c.play().catch(() => {});
  return { c, msgs, info };
}

describe.skipIf(!existsSync(VECTOR))(
  'Enhanced RTMP: AV1 + Opus (Veovera E-FLV vector) through the hub',
  () => {
    let t: TestServer;
    let pub: FlvPublisher;

    beforeAll(async () => {
      t = await startTestServer();
      pub = await publishFlv(t.rtmpUrl('live/av1'), VECTOR, { speed: 1 });
    });
    afterAll(async () => {
      pub.stop();
      pub.client.close();
      await t.close();
    });

    it('learns codec, resolution and channels from the sequence headers', async () => {
      await until(() => t.server.registry.get('live', 'av1')?.info.width !== undefined, 5000, 'info');
      const info = t.server.registry.get('live', 'av1')?.info;
      expect(info).toMatchObject({
        videoCodec: 'av01',
        width: 980,
        height: 540,
        audioCodec: 'Opus',
        channels: 1,
      });
    });

    it('a player that announced av01/Opus gets the FourCC tags untouched; the connect reply lists fourCcList', async () => {
      const p = await player(t.rtmpUrl('live/av1'), { fourCcList: ['av01', 'Opus'] });
      expect(p.info).toBeDefined();
      await until(() => p.msgs.filter((m) => m.type === 9).length >= 10, 10_000, 'E-RTMP video');
      const video = p.msgs.filter((m) => m.type === 9).map((m) => parseVideoTagBody(m.payload));
      expect(video.every((v) => v.enhanced && v.codec === 'av01')).toBe(true);
      expect(video.some((v) => v.isSequenceHeader)).toBe(true);
      const firstCoded = video.find((v) => !v.isSequenceHeader && !v.isMetadata);
      expect(firstCoded?.keyframe).toBe(true);
      const audio = p.msgs.filter((m) => m.type === 8).map((m) => parseAudioTagBody(m.payload));
      expect(audio.length).toBeGreaterThan(0);
      expect(audio.every((a) => a.enhanced && a.codec === 'Opus')).toBe(true);
      p.c.close();
    });

    it('a legacy player (no fourCcList) is not sent FourCC tags it cannot parse', async () => {
      const p = await player(t.rtmpUrl('live/av1'));
      await new Promise((r) => setTimeout(r, 1500));
      expect(p.msgs.filter((m) => m.type === 8 || m.type === 9)).toEqual([]);
      p.c.close();
    });

    it('HTTP-FLV passes the Enhanced FLV tags through (mpegts.js reads them)', async () => {
      const ctl = new AbortController();
      const res = await fetch(t.httpUrl('live/av1.flv'), { signal: ctl.signal });
      const reader = new FlvReader();
      const tags: FlvTag[] = [];
      const body = res.body!.getReader();
      while (tags.filter((x) => x.type === 9).length < 5) {
        const { value, done } = await body.read();
        if (done) break;
        tags.push(...reader.push(Buffer.from(value)));
      }
      ctl.abort();
      const v = tags.filter((x) => x.type === 9).map((x) => parseVideoTagBody(x.body));
      expect(v[0].isSequenceHeader && v[0].codec === 'av01').toBe(true);
    });
  },
);

describe.skipIf(!hasTool('ffmpeg'))('timestamps and AMF3 clients', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(async () => {
    await t.close();
  });

  it('extended timestamps (crossing 0xFFFFFF) interoperate with ffmpeg as a player', async () => {
    // start 1.5 s before the 24-bit limit: the fmt-3 extended-timestamp rule is exercised on every chunk after it
    const pub = await publishFlv(t.rtmpUrl('live/ext'), media('h264-aac-360p.flv'), {
      tsOffset: 0xffffff - 1500,
    });
    try {
      const p = await player(t.rtmpUrl('live/ext'));
      const dec = run(
        'ffmpeg',
        ['-v', 'error', '-i', t.rtmpUrl('live/ext'), '-t', '3.5', '-f', 'null', '-'],
        20_000,
      );
      await until(() => p.msgs.some((m) => m.type === 9 && m.timestamp > 0xffffff + 500), 10_000, 'crossing');
      const ts = p.msgs.filter((m) => m.type === 9 && m.payload[1] === 1).map((m) => m.timestamp);
      for (let i = 1; i < ts.length; i++) expect(ts[i] - ts[i - 1]).toBeLessThan(200);
      const r = await dec;
      expect(r.code).toBe(0);
      expect(r.stderr.trim()).toBe('');
      p.c.close();
    } finally {
      pub.stop();
      pub.client.close();
    }
  });

  it('an objectEncoding 3 client gets it echoed, and AMF3 command messages (type 17) are understood', async () => {
    const c = new RtmpClient(parseRtmpUrl(t.rtmpUrl('live/x')));
    const info = await c.connectApp({ objectEncoding: 3 });
    expect(info.objectEncoding).toBe(3);
    const res = await c.session.call('createStream', null, [], { amf3: true });
    expect(typeof res[1]).toBe('number');
    c.close();
  });
});
