import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import { type FlvPublisher, publishFlv } from '../helpers/flv-publisher.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hasOpenssl, makeTestCert } from '../helpers/tls-cert.js';
import { media } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

/** A TCP connection; resolves once connected, `closed` turns true when the server drops it. */
async function tcp(port: number): Promise<{ socket: Socket; closed: () => boolean }> {
  let closed = false;
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  socket.on('close', () => {
    closed = true;
  });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  return { socket, closed: () => closed };
}

async function playStatus(url: string): Promise<{ status: string; client: RtmpClient }> {
  const client = new RtmpClient(parseRtmpUrl(url));
  await client.connectApp();
  return { status: await client.play(), client };
}

describe('limits: every one hit and counted', () => {
  let t: TestServer | undefined;
  const pubs: FlvPublisher[] = [];
  const sockets: Socket[] = [];
  afterEach(async () => {
    for (const p of pubs.splice(0)) {
      p.stop();
      p.client.close();
    }
    for (const s of sockets.splice(0)) s.destroy();
    await t?.close();
    t = undefined;
  });

  it('maxConnectionsPerIp holds over RTMP and HTTP together, and a closed connection frees its slot', async () => {
    t = await startTestServer({ limits: { maxConnectionsPerIp: 3, connectionRatePerIp: 1000 } });
    const open = [await tcp(t.rtmpPort), await tcp(t.rtmpPort), await tcp(t.httpPort)];
    for (const o of open) sockets.push(o.socket);
    const fourth = await tcp(t.httpPort);
    sockets.push(fourth.socket);
    await until(fourth.closed, 3000, 'the 4th connection dropped');
    expect(open.some((o) => o.closed())).toBe(false);
    expect(t.server.counters.get('connect_rejected', 'per-ip-limit')).toBe(1);
    open[0].socket.destroy();
    await new Promise((r) => setTimeout(r, 100));
    const r = await fetch(t.httpUrl('healthz'), { headers: { connection: 'close' } });
    expect(r.status).toBe(200);
  });

  it.skipIf(!hasOpenssl())('the limits apply before TLS work on the HTTPS and RTMPS listeners', async () => {
    const cert = makeTestCert(mkdtempSync(join(tmpdir(), 'tidecast-limits-')));
    t = await startTestServer({
      limits: { maxConnectionsPerIp: 2, connectionRatePerIp: 1000 },
      tls: { certFile: cert.certFile, keyFile: cert.keyFile, watch: false },
      https: { enabled: true, port: 0 },
      rtmps: { enabled: true, port: 0 },
    });
    const ports = t.server.ports;
    const open = [await tcp(ports.https ?? 0), await tcp(ports.rtmps ?? 0)];
    for (const o of open) sockets.push(o.socket);
    const third = await tcp(ports.https ?? 0);
    const fourth = await tcp(ports.rtmps ?? 0);
    sockets.push(third.socket, fourth.socket);
    await until(() => third.closed() && fourth.closed(), 3000, 'refused TLS connections');
    expect(t.server.counters.get('connect_rejected', 'per-ip-limit')).toBe(2);
    expect(open.some((o) => o.closed())).toBe(false);
  });

  it('connectionRatePerIp refuses a burst past the bucket', async () => {
    t = await startTestServer({ limits: { maxConnectionsPerIp: 1000, connectionRatePerIp: 5 } });
    const conns = await Promise.all(Array.from({ length: 12 }, () => tcp(t!.rtmpPort)));
    for (const c of conns) sockets.push(c.socket);
    await until(() => conns.filter((c) => c.closed()).length >= 5, 3000, 'refused connections');
    expect(t.server.counters.get('connect_rejected', 'rate-limit')).toBeGreaterThanOrEqual(5);
  });

  it('maxPublishers refuses one stream too many with Publish.Denied', async () => {
    t = await startTestServer({ limits: { maxPublishers: 1 } });
    pubs.push(await publishFlv(t.rtmpUrl('live/one'), media('h264-aac-360p.flv')));
    await expect(publishFlv(t.rtmpUrl('live/two'), media('h264-aac-360p.flv'))).rejects.toThrow(
      /NetStream.Publish.Denied/,
    );
    expect(t.server.counters.get('publish_rejected', 'max-publishers')).toBe(1);
  });

  it('maxPlayersPerStream refuses the next RTMP and HTTP-FLV player', async () => {
    t = await startTestServer({ limits: { maxPlayersPerStream: 1 } });
    pubs.push(await publishFlv(t.rtmpUrl('live/cap'), media('h264-aac-360p.flv')));
    await t.waitLive('live', 'cap');
    const first = await playStatus(t.rtmpUrl('live/cap'));
    expect(first.status).toBe('NetStream.Play.Start');
    const second = await playStatus(t.rtmpUrl('live/cap'));
    expect(second.status).toBe('NetStream.Play.Failed');
    const flv = await fetch(t.httpUrl('live/cap.flv'));
    expect(flv.status).toBe(403);
    await flv.body?.cancel();
    expect(t.server.counters.get('play_rejected', 'max-players')).toBe(2);
    first.client.close();
    second.client.close();
  });

  it('maxIngestKbps with disconnect: an over-limit publisher is warned, then dropped', async () => {
    t = await startTestServer({
      limits: { maxIngestKbps: 50, ingestWindowMs: 300, ingestOverLimit: 'disconnect' },
    });
    const p = await publishFlv(t.rtmpUrl('live/fat'), media('h264-aac-360p.flv'));
    pubs.push(p);
    await until(() => !t!.server.registry.get('live', 'fat')?.live, 5000, 'publisher dropped');
    expect(t.server.counters.get('ingest_over_limit', 'disconnect')).toBeGreaterThanOrEqual(2);
    expect(t.server.counters.get('rtmp_connections_closed', 'ingest-bitrate-limit')).toBe(1);
  });

  it('maxIngestKbps with warn: counted and logged, the publisher stays', async () => {
    t = await startTestServer({
      limits: { maxIngestKbps: 50, ingestWindowMs: 300, ingestOverLimit: 'warn' },
    });
    pubs.push(await publishFlv(t.rtmpUrl('live/warned'), media('h264-aac-360p.flv')));
    await until(() => t!.server.counters.get('ingest_over_limit', 'warn') >= 3, 5000, 'three warnings');
    expect(t.server.registry.get('live', 'warned')?.live).toBe(true);
    expect(t.logs.some((l) => l.msg === 'ingest bitrate over the limit')).toBe(true);
  });
});
