import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RtmpMessage } from '../../src/protocols/rtmp/message.js';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import { type FlvPublisher, publishFlv } from '../helpers/flv-publisher.js';
import { closedReasons, startTestServer, type TestServer } from '../helpers/server.js';
import { hasTool, media } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

/** A viewer that stops reading must cost the publisher and the other viewers nothing. */
describe.skipIf(!hasTool('ffmpeg'))('slow consumer policy', () => {
  let t: TestServer;
  let pub: FlvPublisher;

  beforeAll(async () => {
    t = await startTestServer({ egress: { maxQueueBytes: 256 * 1024, maxQueueMs: 1000, maxSkips: 2 } });
    pub = await publishFlv(t.rtmpUrl('live/s'), media('h264-aac-720p.flv'), { speed: 3 });
  });
  afterAll(async () => {
    pub.stop();
    pub.client.close();
    await t.close();
  });

  it('a stalled player is skipped to keyframes, then disconnected; a good player and the publisher go on', async () => {
    const good: RtmpMessage[] = [];
    const g = new RtmpClient(parseRtmpUrl(t.rtmpUrl('live/s')), { onMedia: (m) => good.push(m) });
    await g.connectApp();
    await g.play();
    let slowClosed = false;
    const slow = new RtmpClient(parseRtmpUrl(t.rtmpUrl('live/s')), {
      onClose: () => {
        slowClosed = true;
      },
    });
    await slow.connectApp();
    await slow.play();
    slow.rawSocket.pause(); // stop reading: the kernel buffers fill, then write() reports backpressure

    await until(
      () =>
        t.server.counters.get('frames_dropped', 'rtmp:queue-bytes') +
          t.server.counters.get('frames_dropped', 'rtmp:queue-duration') >
        0,
      20_000,
      'drops',
    );
    await until(() => closedReasons(t.logs).includes('slow-consumer'), 20_000, 'slow-consumer disconnect');
    expect(t.server.counters.get('players_disconnected', 'slow-consumer')).toBe(1);
    // read again: the server's end of the connection must now show up as a close on our side
    slow.rawSocket.resume();
    await until(() => slowClosed, 10_000, 'the slow player to see its connection closed');

    // the good player kept receiving in order, without gaps of whole GOPs
    const n = good.length;
    await until(() => good.length > n + 30, 10_000, 'good player continues');
    const vts = good.filter((m) => m.type === 9 && m.payload[1] === 1).map((m) => m.timestamp);
    for (let i = 1; i < vts.length; i++) expect(vts[i] - vts[i - 1]).toBeLessThan(500);
    expect(t.server.registry.get('live', 's')?.live).toBe(true);
    g.close();
    slow.close();
  });
});
