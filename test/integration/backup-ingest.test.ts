import { afterEach, describe, expect, it } from 'vitest';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import { type FlvPublisher, publishFlv } from '../helpers/flv-publisher.js';
import { startTestServer, TEST_API_TOKEN, type TestServer } from '../helpers/server.js';
import { media } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

interface Watcher {
  client: RtmpClient;
  videoTimes: number[];
  closed: boolean;
  statuses: string[];
}

async function watch(url: string): Promise<Watcher> {
  const w: Watcher = { videoTimes: [], closed: false, statuses: [] } as unknown as Watcher;
  w.client = new RtmpClient(parseRtmpUrl(url), {
    onMedia: (m) => {
      if (m.type === 9) w.videoTimes.push(m.timestamp);
    },
    onStatus: (i) => w.statuses.push(String(i.code)),
    onClose: () => {
      w.closed = true;
    },
  });
  await w.client.connectApp();
  void w.client.play().catch(() => {});
  return w;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('backup ingest: primary and backup publishers, players never disconnected', () => {
  let t: TestServer | undefined;
  const pubs: FlvPublisher[] = [];
  afterEach(async () => {
    for (const p of pubs.splice(0)) {
      p.stop();
      p.client.close();
    }
    await t?.close();
    t = undefined;
  });

  const start = async () => {
    t = await startTestServer({
      apps: { live: { backup: { enabled: true, stallMs: 800 } } },
      hls: { segmentFormat: 'mpegts', targetDuration: 1, lowLatency: false },
    });
    return t;
  };
  const active = () => t?.server.failover.activeSource('live', 'cam');

  it('switches to the backup when the primary leaves, and back when it returns; time stays monotonic', async () => {
    const s = await start();
    const primary = await publishFlv(s.rtmpUrl('live/cam'), media('h264-aac-360p.flv'));
    pubs.push(primary);
    await until(() => active() === 'primary', 10_000, 'primary live');
    const backup = await publishFlv(s.rtmpUrl('live/cam?role=backup'), media('h264-aac-360p.flv'));
    pubs.push(backup);
    const player = await watch(s.rtmpUrl('live/cam'));
    await until(() => player.videoTimes.length > 30, 10_000, 'player gets video');

    primary.stop();
    primary.client.close();
    await until(() => active() === 'backup', 10_000, 'switch to backup');
    const api = await fetch(s.httpUrl('api/v1/streams/live/cam'), {
      headers: { authorization: `Bearer ${TEST_API_TOKEN}` },
    });
    expect(((await api.json()) as { source: string }).source).toBe('backup');
    const atSwitch = player.videoTimes.length;
    await until(() => player.videoTimes.length > atSwitch + 30, 10_000, 'video after the switch');
    expect(player.closed).toBe(false);

    const back = await publishFlv(s.rtmpUrl('live/cam'), media('h264-aac-360p.flv'));
    pubs.push(back);
    await until(() => active() === 'primary', 10_000, 'switch back to primary');
    const atReturn = player.videoTimes.length;
    await until(() => player.videoTimes.length > atReturn + 30, 10_000, 'video after the return');
    expect(player.closed).toBe(false);
    expect(player.statuses.filter((c) => c.includes('Unpublish') || c.includes('Stop'))).toEqual([]);
    for (let i = 1; i < player.videoTimes.length; i++) {
      expect(player.videoTimes[i], `video time ${i}`).toBeGreaterThanOrEqual(player.videoTimes[i - 1]);
    }
    const playlist = await (await fetch(s.httpUrl('live/cam/index.m3u8'))).text();
    expect(playlist).toContain('#EXT-X-DISCONTINUITY');
    const switches = s.logs.filter((l) => l.msg === 'backup ingest: source switched').map((l) => l.reason);
    expect(switches.slice(0, 3)).toEqual(['first-source', 'primary-ended', 'primary-returned']);
    player.client.close();
  }, 60_000);

  it('a stalled primary (connected, sending nothing) hands over to the backup after stallMs', async () => {
    const s = await start();
    const primary = await publishFlv(s.rtmpUrl('live/cam'), media('h264-aac-360p.flv'));
    pubs.push(primary);
    const backup = await publishFlv(s.rtmpUrl('live/cam?role=backup'), media('h264-aac-360p.flv'));
    pubs.push(backup);
    await until(() => active() === 'primary', 10_000, 'primary live');
    const player = await watch(s.rtmpUrl('live/cam'));
    await until(() => player.videoTimes.length > 10, 10_000, 'player gets video');
    primary.stop(); // the connection stays open: a stall, not an unpublish
    await until(() => active() === 'backup', 10_000, 'switch to backup');
    const n = player.videoTimes.length;
    await until(() => player.videoTimes.length > n + 20, 10_000, 'video after the switch');
    expect(s.server.registry.get('live', 'cam@primary')?.live).toBe(true);
    expect(player.closed).toBe(false);
    player.client.close();
  }, 60_000);

  it('sources are internal: clients cannot play cam@backup, and the public stream ends when both leave', async () => {
    const s = await start();
    const backup = await publishFlv(s.rtmpUrl('live/cam?role=backup'), media('h264-aac-360p.flv'));
    pubs.push(backup);
    await until(() => active() === 'backup', 10_000, 'backup alone is live');
    const r = await fetch(s.httpUrl('live/cam@backup.flv'));
    expect(r.status).toBe(404);
    await r.body?.cancel();
    backup.stop();
    backup.client.close();
    await until(() => !s.server.registry.get('live', 'cam')?.live, 10_000, 'public stream ended');
    await sleep(100);
    expect(active()).toBeUndefined();
  }, 30_000);
});
