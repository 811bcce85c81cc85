import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FlvReader } from '../../src/formats/flv/flv-reader.js';
import type { RelaysView } from '../../src/relay/relay-service.js';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import { hasNginxRtmp, type NginxRtmp, startNginxRtmp } from '../helpers/nginx-rtmp.js';
import { startTestServer, TEST_API_TOKEN, type TestServer } from '../helpers/server.js';
import { ffmpegPublish, hasTool, media, run, stop } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

/**
 * Relays with nginx-rtmp (Debian nginx + libnginx-mod-rtmp): Tidecast pushes to nginx and the stream plays there
 * (ffprobe, rtmpdump); nginx restarted on its port gets the push back; a Tidecast edge pulls from an nginx
 * origin on demand; nginx as an edge in front of a Tidecast origin (its `pull` directive).
 */

const tools = hasTool('ffmpeg') && hasTool('ffprobe') && hasNginxRtmp();
if (!tools) {
  console.warn(
    '\n*** test/interop/relay-nginx.test.ts is SKIPPED: it needs ffmpeg, ffprobe, nginx and libnginx-mod-rtmp. ***\n',
  );
}

async function codecs(url: string): Promise<string[]> {
  const r = await run(
    'ffprobe',
    ['-v', 'error', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', url],
    20_000,
  );
  return r.stdout.split('\n').filter(Boolean).sort();
}

/** ffprobe until it reads both tracks (nginx needs a moment after a publisher arrives). */
async function probeUntil(url: string, timeoutMs = 30_000): Promise<string[]> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const c = await codecs(url);
    if (c.length === 2 || Date.now() > end) return c;
    await new Promise((r) => setTimeout(r, 300));
  }
}

async function relays(t: TestServer): Promise<RelaysView> {
  const res = await fetch(t.httpUrl('api/v1/relays'), {
    headers: { Authorization: `Bearer ${TEST_API_TOKEN}` },
  });
  return (await res.json()) as RelaysView;
}

describe.skipIf(!tools)('relays with nginx-rtmp', () => {
  let tidecast: TestServer;
  let nginx: NginxRtmp;
  const pubs: ChildProcess[] = [];
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tidecast-relay-nginx-'));
    tidecast = await startTestServer({
      hls: { enabled: false },
      relays: { backoffInitialMs: 200, backoffMaxMs: 1000, firstMediaTimeoutMs: 3000 },
    });
    nginx = await startNginxRtmp(); // `application live { live on; }`
    pubs.push(ffmpegPublish(tidecast.rtmpUrl('live/n1'), media('h264-aac-360p.flv')));
    await tidecast.waitLive('live', 'n1');
  });

  afterAll(async () => {
    await Promise.all(pubs.map((p) => stop(p)));
    await tidecast?.close();
    await nginx?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a push to nginx-rtmp plays there (ffprobe and rtmpdump)', async () => {
    const res = await fetch(tidecast.httpUrl('api/v1/relays/pushes'), {
      method: 'POST',
      headers: { Authorization: `Bearer ${TEST_API_TOKEN}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 'to-nginx', app: 'live', stream: 'n1', url: nginx.url('live/{name}') }),
    });
    expect(res.status).toBe(201);
    expect(await probeUntil(nginx.url('live/n1')), nginx.errorLog()).toEqual(['aac', 'h264']);

    if (hasTool('rtmpdump')) {
      const out = join(dir, 'dump.flv');
      // a live dump for ~4 s (rtmpdump's --stop does not end a live download); SIGINT makes it finish the file
      await run('rtmpdump', ['-q', '--live', '-r', nginx.url('live/n1'), '-o', out], 4_000);
      const tags = new FlvReader().push(readFileSync(out));
      const video = tags.filter((t) => t.type === 9 && t.body[1] === 1);
      expect(video.length).toBeGreaterThan(20);
      expect(tags.some((t) => t.type === 8)).toBe(true);
    }
    const push = (await relays(tidecast)).pushes.find((p) => p.id === 'to-nginx');
    expect(push?.sessions[0]).toMatchObject({ state: 'publishing', retries: 0 });
  });

  it('nginx restarted on the same port gets the push back', async () => {
    const port = nginx.port;
    await nginx.stop();
    const waitRetry = async () => {
      const end = Date.now() + 10_000;
      for (;;) {
        const s = (await relays(tidecast)).pushes.find((p) => p.id === 'to-nginx')?.sessions[0];
        if ((s?.retries ?? 0) > 0) return s;
        if (Date.now() > end) throw new Error('no retry');
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    await waitRetry();
    nginx = await startNginxRtmp({ port });
    expect(await probeUntil(nginx.url('live/n1')), nginx.errorLog()).toEqual(['aac', 'h264']);
    const s = (await relays(tidecast)).pushes.find((p) => p.id === 'to-nginx')?.sessions[0];
    expect(s?.state).toBe('publishing');
    expect(s?.retries).toBeGreaterThan(0);
  });

  it('a Tidecast edge pulls on demand from an nginx-rtmp origin', async () => {
    const edge = await startTestServer({
      hls: { enabled: false },
      apps: { edge: { publish: 'deny', play: 'open' } },
      relays: { firstMediaTimeoutMs: 5000, edge: { edge: { origins: [nginx.url('live')] } } },
    });
    const src = ffmpegPublish(nginx.url('live/n2'), media('h264-aac-360p.flv'));
    pubs.push(src);
    try {
      // nginx answers Play.Start before it has the stream; the pull goes live with the first media
      let video = 0;
      const player = new RtmpClient(parseRtmpUrl(edge.rtmpUrl('edge/n2')), {
        onMedia: (m) => {
          if (m.type === 9 && m.payload[1] === 1) video++;
        },
      });
      await player.connectApp();
      void player.play().catch(() => {});
      await until(() => video >= 60, 30_000, 'edge media from nginx');
      player.close();
      expect(edge.server.registry.get('edge', 'n2')?.publisher?.protocol).toBe('relay-pull');
    } finally {
      await stop(src);
      await edge.close();
    }
  });

  it('nginx-rtmp as an edge in front of a Tidecast origin (nginx `pull`)', async () => {
    const edgeNginx = await startNginxRtmp({
      applications: `application edge { live on; pull rtmp://127.0.0.1:${tidecast.rtmpPort}/live; }`,
    });
    try {
      expect(await probeUntil(edgeNginx.url('edge/n1')), edgeNginx.errorLog()).toEqual(['aac', 'h264']);
    } finally {
      await edgeNginx.stop();
    }
  });
});
