import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { encodeMessage } from '../../src/protocols/rtmp/chunk-encoder.js';
import { command } from '../../src/protocols/rtmp/commands.js';
import { MessageType } from '../../src/protocols/rtmp/message.js';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import {
  fmt0Chunk,
  RawRtmp,
  RTMP_ERROR_REASONS,
  rawSetChunkSize,
  waitFor,
  within,
} from '../helpers/raw-rtmp.js';
import { closedReasons, startTestServer, type TestServer } from '../helpers/server.js';
import { ffmpegPublish, hasTool, media, run, stop } from '../helpers/tools.js';

const tools = hasTool('ffmpeg') && hasTool('ffprobe');

const HANDSHAKE_TIMEOUT_MS = 1000;
const PING_INTERVAL_MS = 500;
const PING_TIMEOUT_MS = 1500;
const MAX_MESSAGE_BYTES = 1024 * 1024;

/** Close reasons a connection may legitimately end with when fed garbage. */
const KNOWN_REASONS = new Set([...RTMP_ERROR_REASONS, 'unknown-app']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const tcpSockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;

/**
 * A real ffmpeg stream plays to one of our RTMP clients while every kind of bad input hits the same server.
 * Each case checks the reason the server logs when it drops the bad peer, and that the good player's
 * video keeps flowing.
 */
describe.skipIf(!tools)('bad input: the server drops bad peers, the live stream keeps playing', () => {
  let t: TestServer;
  let pub: ChildProcess;
  let player: RtmpClient;
  let videoFrames = 0;
  let playerClosed = false;
  const open: RawRtmp[] = [];
  let baseConnections = 0;

  /** The good player received at least `n` more video messages within 5 s; the stream is still live. */
  async function streamFlows(n = 5): Promise<void> {
    const from = videoFrames;
    await waitFor(() => videoFrames >= from + n || playerClosed, 5000, `${n} more video frames`);
    expect(playerClosed, 'the good player was disconnected').toBe(false);
    expect(videoFrames).toBeGreaterThanOrEqual(from + n);
    expect(t.server.registry.get('live', 'good')?.live).toBe(true);
  }

  /** Runs a case; the stream must flow after it, and the reasons it logs are returned for assertions. */
  async function badCase(fn: () => Promise<void>): Promise<string[]> {
    const mark = t.logs.length;
    const framesBefore = videoFrames;
    await fn();
    await streamFlows();
    expect(videoFrames).toBeGreaterThan(framesBefore);
    return closedReasons(t.logs.slice(mark));
  }

  async function raw(): Promise<RawRtmp> {
    const c = await RawRtmp.open(t.rtmpPort);
    open.push(c);
    return c;
  }

  /** Handshake + connect to live (txn 1) + createStream (txn 2); returns the message stream id. */
  async function connected(): Promise<{ c: RawRtmp; streamId: number }> {
    const c = await raw();
    await c.handshake();
    const res = await c.connectApp('live');
    expect(res.name, c.commandNames()).toBe('_result');
    c.sendCommand(['createStream', 2, null]);
    const cs = await c.waitCommand((x) => x.txn === 2);
    expect(cs.name).toBe('_result');
    return { c, streamId: Number(cs.values[1]) };
  }

  /** The server closes the socket within `ms`, and logged exactly `reason` for it. */
  async function expectDropped(c: RawRtmp, reason: string, mark: number, ms = 3000): Promise<void> {
    expect(await c.waitClosed(ms), `server did not close the connection (expected ${reason})`).toBe(true);
    await waitFor(() => closedReasons(t.logs.slice(mark)).length > 0, 1000, 'closed log line');
    expect(closedReasons(t.logs.slice(mark))).toEqual([reason]);
  }

  beforeAll(async () => {
    t = await startTestServer({
      rtmp: {
        handshakeTimeoutMs: HANDSHAKE_TIMEOUT_MS,
        pingIntervalMs: PING_INTERVAL_MS,
        pingTimeoutMs: PING_TIMEOUT_MS,
        maxMessageBytes: MAX_MESSAGE_BYTES,
      },
      log: { level: 'debug' },
    });
    pub = ffmpegPublish(t.rtmpUrl('live/good'), media('h264-aac-360p.flv'));
    await t.waitLive('live', 'good');
    player = new RtmpClient(parseRtmpUrl(t.rtmpUrl('live/good')), {
      onMedia: (m) => {
        if (m.type === MessageType.Video) videoFrames++;
      },
      onClose: () => {
        playerClosed = true;
      },
    });
    await within(player.connectApp(), 5000, 'good player connect');
    expect(await within(player.play(), 5000, 'good player play')).toBe('NetStream.Play.Start');
    await streamFlows();
    baseConnections = t.server.rtmp!.connectionCount; // the publisher and the good player
  });

  // a case that failed half-way must not leave sockets whose later close lines land in the next case's logs
  afterEach(async () => {
    const left = open.splice(0);
    for (const c of left) c.destroy();
    await within(Promise.all(left.map((c) => c.closed)), 3000, 'raw sockets closed');
    await waitFor(
      () => t.server.rtmp!.connectionCount <= baseConnections,
      3000,
      'server connections back to normal',
    );
  });

  afterAll(async () => {
    for (const c of open) c.destroy();
    player?.close();
    if (pub) await stop(pub);
    await t?.close();
  });

  // ------------------------------------------------------------------------------------------ handshake

  it('garbage instead of a handshake: RTMP_BAD_VERSION, nothing sent back', async () => {
    let c!: RawRtmp;
    const reasons = await badCase(async () => {
      const mark = t.logs.length;
      c = await raw();
      c.write(Buffer.from('\xde\xad\xbe\xef'.repeat(1024), 'latin1'));
      await expectDropped(c, 'RTMP_BAD_VERSION', mark);
    });
    expect(reasons).toEqual(['RTMP_BAD_VERSION']);
    expect(c.received).toBe(0);
  });

  it('a valid C0 followed by garbage: the handshake completes, the chunk garbage is refused', async () => {
    await badCase(async () => {
      const mark = t.logs.length;
      const c = await raw();
      // C0 = 3, C1 and C2 of 0xff (never verified), then 0xff = fmt 3 on csid 63 with no previous header
      c.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536 * 2 + 100, 0xff)]));
      await expectDropped(c, 'RTMP_BAD_CHUNK_HEADER', mark);
      expect(c.received).toBe(1 + 1536 * 2); // S0 S1 S2
    });
  });

  for (const [label, bytes] of [
    ['C0 = 0x06 (RTMPE)', Buffer.concat([Buffer.from([0x06]), randomBytes(1536)])],
    ['C0 = 0x47 (an HTTP request)', Buffer.from('GET /live/good HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['C0 = 0x16 (a TLS ClientHello)', Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc])],
    ['C0 = 0x00', Buffer.concat([Buffer.from([0x00]), randomBytes(1536)])],
  ] as const) {
    it(`bad version byte, ${label}: RTMP_BAD_VERSION`, async () => {
      await badCase(async () => {
        const mark = t.logs.length;
        const c = await raw();
        c.write(bytes);
        await expectDropped(c, 'RTMP_BAD_VERSION', mark);
        expect(c.received).toBe(0);
      });
    });
  }

  it('a truncated handshake then silence: closed by the handshake timeout', async () => {
    await badCase(async () => {
      const mark = t.logs.length;
      const c = await raw();
      const t0 = Date.now();
      c.write(Buffer.concat([Buffer.from([3]), randomBytes(700)]));
      await expectDropped(c, 'RTMP_HANDSHAKE_TIMEOUT', mark, HANDSHAKE_TIMEOUT_MS + 2000);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(HANDSHAKE_TIMEOUT_MS - 50);
    });
  });

  it('a complete handshake but no connect: closed by the handshake timeout', async () => {
    await badCase(async () => {
      const mark = t.logs.length;
      const c = await raw();
      await c.handshake();
      await expectDropped(c, 'RTMP_HANDSHAKE_TIMEOUT', mark, HANDSHAKE_TIMEOUT_MS + 2000);
    });
  });

  it('200 sockets that connect and never send: all closed by the timeout, resources back to normal', async () => {
    const N = 200;
    const baseConns = t.server.rtmp!.connectionCount;
    const baseSockets = tcpSockets();
    const baseHeap = process.memoryUsage().heapUsed;
    const reasons = await badCase(async () => {
      const socks = await Promise.all(Array.from({ length: N }, () => raw()));
      await waitFor(() => t.server.rtmp!.connectionCount >= baseConns + N, 2000, 'all accepted');
      const closedAll = await within(
        Promise.all(socks.map((s) => s.closed)),
        HANDSHAKE_TIMEOUT_MS + 4000,
        'all idle sockets closed by the server',
      );
      expect(closedAll).toHaveLength(N);
    });
    expect(reasons.filter((r) => r === 'RTMP_HANDSHAKE_TIMEOUT')).toHaveLength(N);
    expect(reasons).toHaveLength(N);
    await waitFor(() => t.server.rtmp!.connectionCount === baseConns, 2000, 'connection set back to normal');
    await waitFor(() => tcpSockets() <= baseSockets, 3000, `TCP handles back to ${baseSockets}`);
    expect(process.memoryUsage().heapUsed - baseHeap).toBeLessThan(64 * 1024 * 1024);
  });

  // ------------------------------------------------------------------------------------------ chunk stream

  for (const size of [0, 0x80000000, 0x7fffffff, 0x1000001]) {
    it(`Set Chunk Size ${size} (0x${size.toString(16)}): RTMP_BAD_CHUNK_SIZE`, async () => {
      await badCase(async () => {
        const mark = t.logs.length;
        const c = await raw();
        await c.handshake();
        c.write(rawSetChunkSize(size));
        await expectDropped(c, 'RTMP_BAD_CHUNK_SIZE', mark);
      });
    });
  }

  it('Set Chunk Size of exactly the limit (16 MiB) is accepted and the connection keeps working', async () => {
    await badCase(async () => {
      const c = await raw();
      await c.handshake();
      c.write(rawSetChunkSize(0x1000000));
      const res = await c.connectApp('live');
      expect(res.name).toBe('_result');
      expect(c.isClosed).toBe(false);
      c.destroy();
    });
  });

  for (const length of [0xffffff, MAX_MESSAGE_BYTES + 1]) {
    it(`a message header declaring ${length} bytes (max ${MAX_MESSAGE_BYTES}): RTMP_MESSAGE_TOO_LARGE`, async () => {
      await badCase(async () => {
        const mark = t.logs.length;
        const c = await raw();
        await c.handshake();
        c.write(fmt0Chunk(6, MessageType.Video, length, Buffer.alloc(128, 0x17), 1));
        await expectDropped(c, 'RTMP_MESSAGE_TOO_LARGE', mark);
      });
    });
  }

  it('partial messages over the buffered-bytes cap (33 x 1 MiB on 33 csids): RTMP_BUFFER_LIMIT', async () => {
    await badCase(async () => {
      const mark = t.logs.length;
      const c = await raw();
      await c.handshake();
      const chunks = Array.from({ length: 33 }, (_, i) =>
        fmt0Chunk(4 + i, MessageType.Video, MAX_MESSAGE_BYTES, Buffer.alloc(128), 1),
      );
      c.write(Buffer.concat(chunks));
      await expectDropped(c, 'RTMP_BUFFER_LIMIT', mark);
    });
  });

  it('a chunk-stream flood (300 csids, each with a partial message): RTMP_TOO_MANY_CHUNK_STREAMS', async () => {
    await badCase(async () => {
      const mark = t.logs.length;
      const { c } = await connected();
      // 129-byte messages: the first 128-byte chunk of each, never the last byte
      const chunks = Array.from({ length: 300 }, (_, i) =>
        fmt0Chunk(64 + i, MessageType.Audio, 129, Buffer.alloc(128, 0xaf), 1),
      );
      c.write(Buffer.concat(chunks));
      await expectDropped(c, 'RTMP_TOO_MANY_CHUNK_STREAMS', mark);
    });
  });

  // ------------------------------------------------------------------------------------------ commands

  it('AMF garbage in a command message (bad marker): AMF_BAD_MARKER', async () => {
    await badCase(async () => {
      const { c } = await connected();
      const mark = t.logs.length;
      const body = Buffer.concat([Buffer.from([0x42]), randomBytes(60)]);
      c.write(fmt0Chunk(3, MessageType.CommandAmf0, body.length, body));
      await expectDropped(c, 'AMF_BAD_MARKER', mark);
    });
  });

  it('AMF garbage in a command message (truncated string): AMF_TRUNCATED', async () => {
    await badCase(async () => {
      const { c } = await connected();
      const mark = t.logs.length;
      const body = Buffer.from([0x02, 0xff, 0xff, 0x61, 0x62]);
      c.write(fmt0Chunk(3, MessageType.CommandAmf0, body.length, body));
      await expectDropped(c, 'AMF_TRUNCATED', mark);
    });
  });

  it('a command whose first value is not a string: RTMP_BAD_COMMAND', async () => {
    await badCase(async () => {
      const { c } = await connected();
      const mark = t.logs.length;
      c.sendCommand([42, 3, null] as never);
      await expectDropped(c, 'RTMP_BAD_COMMAND', mark);
    });
  });

  it('random bytes in command messages: dropped with a known reason or ignored, never an internal error', async () => {
    const reasons = await badCase(async () => {
      for (let i = 0; i < 20; i++) {
        const c = await raw();
        await c.handshake();
        await c.connectApp('live');
        const body = randomBytes(1 + ((i * 37) % 300));
        c.send({ csid: 3, type: MessageType.CommandAmf0, streamId: 0, timestamp: 0, payload: body });
        await c.waitClosed(150);
        c.destroy();
      }
    });
    expect(reasons).toHaveLength(20);
    for (const r of reasons) expect(KNOWN_REASONS, `unexpected close reason ${r}`).toContain(r);
  });

  it('an unknown command does not close the connection: _error for txn > 0, later commands still work', async () => {
    const reasons = await badCase(async () => {
      const { c } = await connected();
      c.sendCommand(['noSuchCommand', 0, null, 'silent']); // txn 0: no reply expected
      c.sendCommand(['noSuchCommand', 5, null, 'x']);
      const err = await c.waitCommand((x) => x.txn === 5);
      expect(err.name).toBe('_error');
      expect(err.values[1]).toMatchObject({ level: 'error', code: 'NetConnection.Call.Failed' });
      c.sendCommand(['createStream', 6, null]);
      const ok = await c.waitCommand((x) => x.txn === 6);
      expect(ok.name).toBe('_result');
      expect(c.commands.filter((x) => x.txn === 0 && x.name === '_error')).toHaveLength(0);
      await sleep(200);
      expect(c.isClosed).toBe(false);
      c.destroy();
      await c.closed;
    });
    expect(reasons).toEqual(['peer-closed']);
  });

  for (const name of ['createStream', 'publish', 'play']) {
    it(`"${name}" before connect: RTMP_PROTOCOL`, async () => {
      await badCase(async () => {
        const mark = t.logs.length;
        const c = await raw();
        await c.handshake();
        c.sendCommand([name, 2, null, 'good']);
        await expectDropped(c, 'RTMP_PROTOCOL', mark);
        expect(c.commands).toHaveLength(0);
      });
    });
  }

  it('a second connect on one connection: RTMP_PROTOCOL', async () => {
    await badCase(async () => {
      const { c } = await connected();
      const mark = t.logs.length;
      c.sendCommand(['connect', 3, { app: 'live' }]);
      await expectDropped(c, 'RTMP_PROTOCOL', mark);
    });
  });

  it('connect to an unknown app: _error Connect.Rejected, then closed with unknown-app', async () => {
    await badCase(async () => {
      const mark = t.logs.length;
      const c = await raw();
      await c.handshake();
      const res = await c.connectApp('../etc');
      expect(res.name).toBe('_error');
      expect(res.values[1]).toMatchObject({ code: 'NetConnection.Connect.Rejected' });
      await expectDropped(c, 'unknown-app', mark);
    });
  });

  /*
   * Regression (fixed in src/servers/rtmp/connection.ts, onConnect): the app is looked up with `config.apps[req.app]` on a
   * plain object, so names inherited from Object.prototype ("constructor", "__proto__", "toString", ...)
   * are found and the connect is accepted (NetConnection.Connect.Success) for an app that does not exist;
   * publish/play then fail only because `app.publish` is undefined. flv-routes.ts already uses
   * Object.hasOwn(config.apps, app). Fix: the same Object.hasOwn check in onConnect (or a null-prototype
   * apps object / a Map built once in the config loader).
   */
  for (const app of ['constructor', '__proto__', 'toString']) {
    it(`connect to app "${app}" (an Object.prototype name) is rejected like any unknown app`, async () => {
      await badCase(async () => {
        const mark = t.logs.length;
        const c = await raw();
        await c.handshake();
        const res = await c.connectApp(app);
        expect(res.name, JSON.stringify(res.values[1])).toBe('_error');
        expect(res.values[1]).toMatchObject({ code: 'NetConnection.Connect.Rejected' });
        await expectDropped(c, 'unknown-app', mark);
      });
    });
  }

  /*
   * Regression (fixed in src/servers/rtmp/connection.ts onPlay + protocols/rtmp/server-session.ts): `play` is accepted on any
   * message stream id, created or not, with no per-connection limit; each one creates an RtmpPlayer (with its
   * Egress) and a registry Stream (with its GOP cache and timeline) that waits playerWaitMs (10 s by
   * default). One connection sending 50,000 plays (2.2 MB) made 50,000 streams and +160 MB of heap (measured).
   * Expected: a per-connection cap on streams (nginx-rtmp: max_streams, default 32), e.g. play/publish only on
   * ids returned by createStream and createStream refused past the cap (_error) or the peer dropped.
   */
  it('one connection playing on 2000 message streams: bounded (refused or dropped), all released after', async () => {
    let grew = 0;
    let closed = false;
    const base = t.server.registry.list().length;
    await badCase(async () => {
      const { c } = await connected();
      const plays = Array.from({ length: 2000 }, (_, i) =>
        encodeMessage(command(['play', 0, null, `nosuch${i}`, -1000], i + 1), 128),
      );
      c.write(Buffer.concat(plays));
      await sleep(500);
      grew = t.server.registry.list().length - base;
      closed = c.isClosed;
      c.destroy();
      await c.closed;
      await waitFor(() => t.server.registry.list().length === base, 2000, 'registry back to normal');
    });
    expect(t.server.registry.list().map((x) => x.path)).toEqual(['live/good']);
    expect(closed || grew <= 64, `one connection made ${grew} registry entries by playing 2000 names`).toBe(
      true,
    );
  });

  it('a half-open peer (connected, then neither reads nor sends): closed by the ping timeout', async () => {
    await badCase(async () => {
      const { c } = await connected();
      const mark = t.logs.length;
      const t0 = Date.now();
      c.socket.pause(); // stop reading; we send nothing either
      await waitFor(
        () => closedReasons(t.logs.slice(mark)).length > 0,
        PING_TIMEOUT_MS + 3000,
        'the server drops the silent peer',
      );
      expect(closedReasons(t.logs.slice(mark))).toEqual(['ping-timeout']);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(PING_TIMEOUT_MS - 50);
      c.socket.resume();
      expect(await c.waitClosed(3000)).toBe(true);
      // it was asked to prove it is alive first: a User Control PingRequest (event 6)
      const pings = c.messages.filter(
        (m) => m.type === MessageType.UserControl && m.payload.readUInt16BE(0) === 6,
      );
      expect(pings.length).toBeGreaterThan(0);
    });
  });

  it('a half-open player of the live stream: closed by the ping timeout (or as a slow consumer)', async () => {
    await badCase(async () => {
      const { c, streamId } = await connected();
      c.sendCommand(['play', 0, null, 'good', -1000], streamId);
      await c.waitCommand(
        (x) => x.name === 'onStatus' && (x.values[1] as { code?: string }).code === 'NetStream.Play.Start',
      );
      await waitFor(() => c.messages.some((m) => m.type === MessageType.Video), 3000, 'first video');
      const mark = t.logs.length;
      c.socket.pause();
      await waitFor(
        () => closedReasons(t.logs.slice(mark)).length > 0,
        PING_TIMEOUT_MS + 3000,
        'the server drops it',
      );
      expect(['ping-timeout', 'slow-consumer']).toContain(closedReasons(t.logs.slice(mark))[0]);
      expect(closedReasons(t.logs.slice(mark))).toHaveLength(1);
      c.destroy();
    });
  });

  it('a half-open publisher: closed by the ping timeout and its stream is released', async () => {
    await badCase(async () => {
      const { c, streamId } = await connected();
      c.sendCommand(['publish', 0, null, 'halfpub', 'live'], streamId);
      const st = await c.waitCommand((x) => x.name === 'onStatus');
      expect(st.values[1]).toMatchObject({ code: 'NetStream.Publish.Start' });
      expect(t.server.registry.get('live', 'halfpub')?.live).toBe(true);
      const mark = t.logs.length;
      c.socket.pause();
      await waitFor(
        () => closedReasons(t.logs.slice(mark)).length > 0,
        PING_TIMEOUT_MS + 3000,
        'the server drops it',
      );
      expect(closedReasons(t.logs.slice(mark))).toEqual(['ping-timeout']);
      expect(t.server.registry.get('live', 'halfpub')).toBeUndefined();
      c.destroy();
    });
  });

  it('publishing to the live name: Publish.BadName, closed with publish-busy, the live stream untouched', async () => {
    await badCase(async () => {
      const { c, streamId } = await connected();
      const mark = t.logs.length;
      c.sendCommand(['publish', 0, null, 'good', 'live'], streamId);
      const st = await c.waitCommand((x) => x.name === 'onStatus');
      expect(st.values[1]).toMatchObject({ level: 'error', code: 'NetStream.Publish.BadName' });
      await expectDropped(c, 'publish-busy', mark);
    });
  });

  it("a stranger's FCUnpublish / deleteStream / closeStream for the live name does not end it", async () => {
    await badCase(async () => {
      const { c, streamId } = await connected();
      c.sendCommand(['FCUnpublish', 3, null, 'good']);
      await c.waitCommand((x) => x.txn === 3);
      c.sendCommand(['closeStream', 0, null], 1);
      c.sendCommand(['deleteStream', 0, null, 1]);
      c.sendCommand(['deleteStream', 0, null, streamId]);
      await sleep(200);
      expect(c.isClosed).toBe(false);
      expect(t.server.registry.get('live', 'good')?.live).toBe(true);
      c.destroy();
    });
  });

  it('media messages from a connection that is not publishing are ignored', async () => {
    const reasons = await badCase(async () => {
      const { c, streamId } = await connected();
      for (const type of [
        MessageType.Audio,
        MessageType.Video,
        MessageType.DataAmf0,
        MessageType.Aggregate,
      ]) {
        c.send({ csid: 6, type, streamId, timestamp: 0, payload: randomBytes(300) });
      }
      c.sendCommand(['createStream', 7, null]);
      expect((await c.waitCommand((x) => x.txn === 7)).name).toBe('_result');
      c.destroy();
      await c.closed;
    });
    expect(reasons).toEqual(['peer-closed']);
  });

  for (const [label, name] of [
    ['"../"', '../etc/passwd'],
    ['a NUL', 'good\u0000'],
  ] as const) {
    it(`playing a name with ${label}: NetStream.Play.StreamNotFound, no crash`, async () => {
      await badCase(async () => {
        const { c, streamId } = await connected();
        c.sendCommand(['play', 0, null, name, -1000], streamId);
        const st = await c.waitCommand((x) => x.name === 'onStatus');
        expect(st.values[1]).toMatchObject({ level: 'error', code: 'NetStream.Play.StreamNotFound' });
        expect(c.messages.some((m) => m.type === MessageType.Video)).toBe(false);
        c.destroy();
      });
    });
  }

  /*
   * Regression (fixed in src/servers/rtmp/connection.ts, sendControl/onData): replies to a peer's commands and pings are
   * written with socket.write() with no bound and no backpressure. A peer that sends commands but never
   * reads makes the server queue every reply in memory: "seek" (38 bytes in) is answered with an onStatus of
   * ~120 bytes, so 8 MB in => ~26 MB of queued replies (and ~5x that in Buffer overhead), and since the peer
   * keeps sending, the ping timeout never fires. Expected: the server stops reading from a peer whose
   * output is backed up (or drops it), so what it holds for one peer stays bounded.
   */
  it('a peer that sends commands but never reads: what the server holds for it stays bounded', async () => {
    let growthMb = 0;
    let pushedMb = 0;
    let closed = false;
    await badCase(async () => {
      const { c } = await connected();
      c.socket.pause(); // never read a reply
      const seek = encodeMessage(command(['seek', 0, null, 0], 1), 128);
      const batch = Buffer.concat(Array.from({ length: 2000 }, () => seek));
      const before = process.memoryUsage().arrayBuffers;
      const end = Date.now() + 5000;
      while (c.socket.bytesWritten < 8 * 1024 * 1024 && !c.isClosed && Date.now() < end) {
        // respect our own backpressure so that only the server's memory can grow (a server that stops
        // reading from us stops our writes here: bounded by the deadline)
        if (!c.socket.write(batch)) {
          await Promise.race([
            new Promise((r) => c.socket.once('drain', r)),
            c.closed,
            sleep(Math.max(0, end - Date.now())),
          ]);
        }
      }
      await sleep(500);
      pushedMb = (c.socket.bytesWritten - c.socket.writableLength) / 1048576;
      growthMb = (process.memoryUsage().arrayBuffers - before) / 1048576;
      closed = c.isClosed;
      c.destroy();
      await c.closed;
    });
    expect(
      closed || growthMb < 24,
      `after ${pushedMb.toFixed(1)} MB of commands from a peer that reads nothing, the server holds ` +
        `${growthMb.toFixed(0)} MB more and still serves it`,
    ).toBe(true);
  });

  // ------------------------------------------------------------------------------------------ stream names

  for (const [label, name] of [
    ['"../"', '../etc/passwd'],
    ['a NUL', 'cam\u00001'],
    ['300 characters', 'x'.repeat(300)],
    ['a "/"', 'a/b'],
  ] as const) {
    it(`publishing to a name with ${label}: NetStream.Publish.BadName, connection stays usable`, async () => {
      const rejectedBefore = t.server.counters.get('publish_rejected', 'bad-name');
      const reasons = await badCase(async () => {
        const { c, streamId } = await connected();
        c.sendCommand(['publish', 0, null, name, 'live'], streamId);
        const st = await c.waitCommand((x) => x.name === 'onStatus');
        expect(st.values[1]).toMatchObject({ level: 'error', code: 'NetStream.Publish.BadName' });
        c.sendCommand(['createStream', 9, null]);
        expect((await c.waitCommand((x) => x.txn === 9)).name).toBe('_result');
        expect(c.isClosed).toBe(false);
        c.destroy();
        await c.closed;
      });
      expect(reasons).toEqual(['peer-closed']);
      expect(t.server.counters.get('publish_rejected', 'bad-name')).toBe(rejectedBefore + 1);
      expect(t.server.registry.list().map((s) => s.path)).toEqual(['live/good']);
    });
  }

  // ------------------------------------------------------------------------------------------ HTTP

  async function httpRaw(data: string | Buffer, ms = 3000): Promise<{ status: number; text: string }> {
    const s = connect({ host: '127.0.0.1', port: t.httpPort });
    s.on('error', () => {});
    let text = '';
    s.on('data', (d: Buffer) => {
      text += d.toString('latin1');
    });
    const closed = new Promise<void>((r) => s.once('close', () => r()));
    await within(new Promise<void>((r) => s.once('connect', () => r())), ms, 'http connect');
    s.write(data);
    try {
      await within(
        closed,
        ms,
        `server closing the HTTP connection (got: ${JSON.stringify(text.slice(0, 80))})`,
      );
    } finally {
      s.destroy();
    }
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
    return { status: m ? Number(m[1]) : 0, text };
  }

  const get = (path: string, extra = '') =>
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}Connection: close\r\n\r\n`;

  for (const path of [
    '/live/..%2f..%2fetc%2fpasswd.flv',
    '/live/..%2F..%2F..%2F..%2Fetc%2Fpasswd',
    '/live/%2e%2e%2f%2e%2e%2fetc%2fpasswd.flv',
    '/live/%00.flv',
    '/live/good%00.flv',
    '/live/%E0%A4%A.flv',
    '/..%2f/good.flv',
    `/live/${'a'.repeat(300)}.flv`,
    '/constructor/good.flv',
    '/__proto__/good.flv',
  ]) {
    it(`HTTP GET ${path.length > 60 ? `${path.slice(0, 60)}...` : path}: 404, nothing served`, async () => {
      await badCase(async () => {
        const r = await httpRaw(get(path));
        expect(r.status, r.text).toBe(404);
        expect(r.text).not.toContain('root:');
        expect(r.text).not.toContain('FLV');
      });
    });
  }

  it('HTTP: a 20 KB header is refused with 4xx and the connection closed', async () => {
    const before = t.server.counters.get('http_rejected', 'HPE_HEADER_OVERFLOW');
    await badCase(async () => {
      const r = await httpRaw(get('/live/good.flv', `X-Big: ${'a'.repeat(20 * 1024)}\r\n`));
      expect(r.status).toBeGreaterThanOrEqual(400);
      expect(r.status).toBeLessThan(500);
    });
    expect(t.server.counters.get('http_rejected', 'HPE_HEADER_OVERFLOW')).toBe(before + 1);
  });

  it('HTTP: a request line of garbage gets 400 and the connection closed', async () => {
    await badCase(async () => {
      const r = await httpRaw(Buffer.concat([Buffer.from('\x00\x01\xff garbage ~~ \r\n\r\n', 'latin1')]));
      expect(r.status).toBe(400);
    });
  });

  it('HTTP: an RTMP handshake sent to the HTTP port gets 400 and the connection closed', async () => {
    await badCase(async () => {
      const r = await httpRaw(Buffer.concat([Buffer.from([3]), randomBytes(1536)]));
      expect(r.status).toBe(400);
    });
  });

  for (const path of ['/nope', '/live/..%2f..%2fetc%2fpasswd.flv', '/other/good.flv']) {
    it(`WebSocket upgrade to ${path}: 404 and closed`, async () => {
      await badCase(async () => {
        const r = await httpRaw(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
            'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n',
        );
        expect(r.status, r.text).toBe(404);
        expect(r.text).not.toContain('101');
      });
    });
  }

  it('HTTP still serves: /healthz and the live stream as HTTP-FLV', async () => {
    const h = await fetch(t.httpUrl('healthz'), { signal: AbortSignal.timeout(3000) });
    expect(h.status).toBe(200);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 5000);
    try {
      const res = await fetch(t.httpUrl('live/good.flv'), { signal: ac.signal });
      expect(res.status).toBe(200);
      const first = await res.body!.getReader().read();
      expect(Buffer.from(first.value!).subarray(0, 3).toString()).toBe('FLV');
    } finally {
      clearTimeout(timer);
      ac.abort();
    }
  });

  // ------------------------------------------------------------------------------------------ fuzz

  it('fast-check: random bytes after a valid handshake, one socket each, never crash the server', async () => {
    const reasons = await badCase(async () => {
      const anyBytes = fc.uint8Array({ minLength: 1, maxLength: 600 });
      // half raw bytes, half well-framed messages of a random type with a random payload
      const input = fc.oneof(
        anyBytes.map((b) => Buffer.from(b)),
        fc
          .record({
            type: fc.integer({ min: 0, max: 30 }),
            csid: fc.integer({ min: 2, max: 400 }),
            body: anyBytes,
          })
          .map(({ type, csid, body }) =>
            encodeMessage({ csid, type, streamId: 0, timestamp: 0, payload: Buffer.from(body) }, 128),
          ),
      );
      await fc.assert(
        fc.asyncProperty(fc.boolean(), input, async (doConnect, bytes) => {
          const c = await raw();
          await c.handshake();
          if (doConnect) await c.connectApp('live');
          c.write(bytes);
          await c.waitClosed(60);
          c.destroy();
          await within(c.closed, 2000, 'socket closed');
        }),
        { numRuns: 60, seed: 0x7dec },
      );
    });
    expect(reasons.length).toBeGreaterThanOrEqual(60);
    for (const r of reasons) expect(KNOWN_REASONS, `unexpected close reason ${r}`).toContain(r);
  });

  it('fast-check: random media from a publisher never kills the publisher, its players or the server', async () => {
    const fourcc = (s: string) => Buffer.from(s, 'latin1');
    // tag-header prefixes that reach the codec parsers (legacy and Enhanced RTMP), then random bytes
    const videoHeads = [
      [0x17, 0x00, 0, 0, 0],
      [0x17, 0x01, 0, 0, 0],
      [0x27, 0x01, 0, 0, 0],
      [0x1c, 0x00, 0, 0, 0],
      [0x17, 0x02],
      [0x57, 0x00],
      [0x90, ...fourcc('hvc1')],
      [0x91, ...fourcc('hvc1')],
      [0x90, ...fourcc('av01')],
      [0x90, ...fourcc('vp09')],
      [0x90, ...fourcc('avc1')],
      [0x96, 0x00, ...fourcc('hvc1')],
      [0x97, 0x00],
      [0x95, 0x00],
      [0xd0, ...fourcc('hvc1')],
    ].map((b) => Buffer.from(b));
    const audioHeads = [
      [0xaf, 0x00],
      [0xaf, 0x01],
      [0x2f],
      [0x90, ...fourcc('Opus')],
      [0x90, ...fourcc('mp4a')],
      [0x90, ...fourcc('fLaC')],
      [0x95, 0x00, ...fourcc('Opus')],
      [0x97, 0x00],
    ].map((b) => Buffer.from(b));
    const rnd = fc.uint8Array({ minLength: 0, maxLength: 300 }).map((b) => Buffer.from(b));
    const media = fc.oneof(
      fc
        .tuple(fc.constantFrom(...videoHeads), rnd)
        .map(([h, b]) => ({ type: 9, body: Buffer.concat([h, b]) })),
      fc
        .tuple(fc.constantFrom(...audioHeads), rnd)
        .map(([h, b]) => ({ type: 8, body: Buffer.concat([h, b]) })),
      fc.tuple(fc.constantFrom(8, 9, 18), rnd).map(([type, body]) => ({ type, body })),
      fc.tuple(fc.constantFrom('@setDataFrame', 'onMetaData', 'onTextData'), rnd).map(([n, b]) => ({
        type: 18,
        body: Buffer.concat([Buffer.from([2, 0, n.length]), Buffer.from(n), b]),
      })),
    );

    let viewer: RtmpClient | undefined;
    const ac = new AbortController();
    const reasons = await badCase(async () => {
      const mark = t.logs.length;
      const { c, streamId } = await connected();
      c.sendCommand(['publish', 0, null, 'fuzz', 'live'], streamId);
      expect((await c.waitCommand((x) => x.name === 'onStatus')).values[1]).toMatchObject({
        code: 'NetStream.Publish.Start',
      });
      let viewerMsgs = 0;
      let viewerClosed = false;
      viewer = new RtmpClient(parseRtmpUrl(t.rtmpUrl('live/fuzz')), {
        onMedia: () => {
          viewerMsgs++;
        },
        onClose: () => {
          viewerClosed = true;
        },
      });
      await within(viewer.connectApp({ fourCcList: ['*'] }), 3000, 'fuzz viewer connect');
      expect(await within(viewer.play(), 3000, 'fuzz viewer play')).toBe('NetStream.Play.Start');
      const res = await fetch(t.httpUrl('live/fuzz.flv'), { signal: ac.signal });
      expect(res.status).toBe(200);
      let httpBytes = 0;
      const reader = res.body!.getReader();
      void (async () => {
        for (;;) {
          const r = await reader.read();
          if (r.done) return;
          httpBytes += r.value.length;
        }
      })().catch(() => {});

      let ts = 0;
      await fc.assert(
        fc.asyncProperty(media, fc.integer({ min: 0, max: 80 }), async (m, dt) => {
          ts += dt;
          c.send({ csid: m.type === 8 ? 4 : 6, type: m.type, streamId, timestamp: ts, payload: m.body });
          await sleep(1);
          expect(c.isClosed).toBe(false);
        }),
        { numRuns: 400, seed: 0xf00d },
      );
      await sleep(300);
      expect(c.isClosed, 'the fuzzing publisher was dropped').toBe(false);
      expect(viewerClosed, 'the RTMP viewer of the fuzzed stream was dropped').toBe(false);
      expect(viewerMsgs).toBeGreaterThan(0);
      expect(httpBytes).toBeGreaterThan(13);
      c.destroy();
      await c.closed;
      await waitFor(
        () => closedReasons(t.logs.slice(mark)).length >= 3,
        3000,
        'publisher and viewers closed',
      );
    });
    ac.abort();
    viewer?.close();
    // the publisher hung up (peer-closed); its two viewers were let go when the stream ended (unpublished)
    expect(reasons.sort()).toEqual(['peer-closed', 'unpublished', 'unpublished']);
  });

  // ------------------------------------------------------------------------------------------ the end

  it('after all of it, a fresh ffprobe reads the stream over RTMP', async () => {
    const r = await run(
      'ffprobe',
      [
        '-v',
        'error',
        '-rw_timeout',
        '10000000',
        '-show_entries',
        'stream=codec_name',
        '-of',
        'json',
        t.rtmpUrl('live/good'),
      ],
      20_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const codecs = (JSON.parse(r.stdout).streams as Array<{ codec_name: string }>).map((s) => s.codec_name);
    expect(codecs.sort()).toEqual(['aac', 'h264']);
    expect(playerClosed).toBe(false);
    expect(closedReasons(t.logs)).not.toContain('INTERNAL_ERROR');
  });
});
