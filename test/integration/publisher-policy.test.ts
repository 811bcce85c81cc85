import { afterEach, describe, expect, it } from 'vitest';
import type { RtmpMessage } from '../../src/protocols/rtmp/message.js';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import { publishFlv } from '../helpers/flv-publisher.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hasTool, media } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

describe.skipIf(!hasTool('ffmpeg'))('publisher policies: reconnect window, takeover', () => {
  let t: TestServer | undefined;
  afterEach(async () => {
    await t?.close();
  });

  it('players stay through a publisher reconnect within reconnectWaitMs and time keeps going forward', async () => {
    t = await startTestServer({ streams: { reconnectWaitMs: 5000 } });
    const first = await publishFlv(t.rtmpUrl('live/r'), media('h264-aac-360p.flv'));
    const msgs: RtmpMessage[] = [];
    const statuses: string[] = [];
    let closed = false;
    const p = new RtmpClient(parseRtmpUrl(t.rtmpUrl('live/r')), {
      onMedia: (m) => msgs.push(m),
      onStatus: (i) => statuses.push(String(i.code)),
      onClose: () => {
        closed = true;
      },
    });
    await p.connectApp();
    await p.play();
    await until(() => msgs.filter((m) => m.type === 9).length > 20, 10_000, 'first session');
    first.stop();
    first.client.close(); // vanishes without FCUnpublish
    await new Promise((r) => setTimeout(r, 700));
    const before = msgs.length;
    // the new publisher restarts its clock at 0
    const second = await publishFlv(t.rtmpUrl('live/r'), media('h264-aac-360p.flv'));
    await until(
      () => msgs.filter((m, i) => i >= before && m.type === 9).length > 20,
      10_000,
      'second session',
    );
    expect(closed).toBe(false);
    expect(statuses).toContain('NetStream.Play.PublishNotify');
    const videoTs = msgs.filter((m) => m.type === 9 && m.payload[1] === 1).map((m) => m.timestamp);
    for (let i = 1; i < videoTs.length; i++) expect(videoTs[i]).toBeGreaterThanOrEqual(videoTs[i - 1]);
    second.stop();
    second.client.close();
    p.close();
  });

  it('takeover policy: a second publisher replaces the first, players keep playing', async () => {
    t = await startTestServer({ streams: { duplicatePublisher: 'takeover' } });
    const first = await publishFlv(t.rtmpUrl('live/k'), media('h264-aac-360p.flv'));
    let firstClosed = false;
    first.client.rawSocket.on('close', () => {
      firstClosed = true;
    });
    const msgs: RtmpMessage[] = [];
    const p = new RtmpClient(parseRtmpUrl(t.rtmpUrl('live/k')), { onMedia: (m) => msgs.push(m) });
    await p.connectApp();
    await p.play();
    await until(() => msgs.filter((m) => m.type === 9).length > 10, 10_000, 'frames');
    const second = await publishFlv(t.rtmpUrl('live/k'), media('h264-aac-360p.flv'));
    await until(() => firstClosed, 5000, 'first publisher kicked');
    const n = msgs.length;
    await until(() => msgs.length > n + 20, 10_000, 'frames from the new publisher');
    expect(t.server.registry.get('live', 'k')?.publisher?.id).toBeDefined();
    second.stop();
    second.client.close();
    p.close();
  });
});
