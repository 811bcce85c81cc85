import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { decodeAmf0 } from '../../src/formats/amf/amf0.js';
import { FlvReader, type FlvTag } from '../../src/formats/flv/flv-reader.js';
import type { RtmpMessage } from '../../src/protocols/rtmp/message.js';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ffmpegPublish, hasTool, media, run, stop } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

interface Player {
  client: RtmpClient;
  msgs: RtmpMessage[];
  statuses: string[];
  closed: boolean;
}

async function rtmpPlayer(url: string): Promise<Player> {
  const p: Player = { msgs: [], statuses: [], closed: false } as unknown as Player;
  p.client = new RtmpClient(parseRtmpUrl(url), {
    onMedia: (m) => p.msgs.push(m),
    onStatus: (i) => p.statuses.push(String(i.code)),
    onClose: () => {
      p.closed = true;
    },
  });
  await p.client.connectApp();
  void p.client.play().catch(() => {});
  return p;
}

const videoFrames = (p: Player) => p.msgs.filter((m) => m.type === 9 && m.payload[1] === 1).length;

describe.skipIf(!hasTool('ffmpeg'))('playback through the hub (our RTMP client, HTTP-FLV, WS-FLV)', () => {
  let t: TestServer;
  let pubs: ChildProcess[] = [];

  beforeAll(async () => {
    t = await startTestServer({ streams: { playerWaitMs: 1500 } });
    pubs = ['a', 'b', 'c'].map((n) => ffmpegPublish(t.rtmpUrl(`live/${n}`), media('h264-aac-360p.flv')));
    await Promise.all(['a', 'b', 'c'].map((n) => t.waitLive('live', n)));
  });
  afterAll(async () => {
    await Promise.all(pubs.map((p) => stop(p)));
    await t.close();
  });

  it('a new RTMP player gets metadata, sequence headers, then a keyframe first, on message stream 1', async () => {
    const p = await rtmpPlayer(t.rtmpUrl('live/a'));
    await until(() => videoFrames(p) >= 5, 10_000, 'frames');
    const [access, meta, ...rest] = p.msgs;
    expect(decodeAmf0(access.payload)).toEqual(['|RtmpSampleAccess', true, true]);
    expect(meta.type).toBe(18);
    expect(decodeAmf0(meta.payload)[0]).toBe('onMetaData'); // no @setDataFrame wrapper
    const vh = rest.find((m) => m.type === 9);
    const ah = rest.find((m) => m.type === 8);
    expect(vh?.payload.subarray(0, 2)).toEqual(Buffer.from([0x17, 0x00]));
    expect(ah?.payload.subarray(0, 2)).toEqual(Buffer.from([0xaf, 0x00]));
    const firstFrame = p.msgs.find((m) => m.type === 9 && m.payload[1] === 1);
    expect(firstFrame?.payload[0]).toBe(0x17); // keyframe first
    expect(p.msgs.every((m) => m.streamId === 1)).toBe(true);
    expect(p.statuses).toEqual(expect.arrayContaining(['NetStream.Play.Reset', 'NetStream.Play.Start']));
    // per track, timestamps never go backwards
    for (const type of [8, 9]) {
      const ts = p.msgs.filter((m) => m.type === type && m.payload[1] === 1).map((m) => m.timestamp);
      for (let i = 1; i < ts.length; i++) expect(ts[i]).toBeGreaterThanOrEqual(ts[i - 1]);
    }
    p.client.close();
  });

  it('three streams play at once, each its own content', async () => {
    const players = await Promise.all(['a', 'b', 'c'].map((n) => rtmpPlayer(t.rtmpUrl(`live/${n}`))));
    await until(() => players.every((p) => videoFrames(p) >= 10), 10_000, 'frames on 3 streams');
    for (const p of players) p.client.close();
    expect(t.server.registry.list().filter((s) => s.live).length).toBe(3);
  });

  it('50 players on one stream all get media, from one shared encoding per frame', async () => {
    const players = await Promise.all(Array.from({ length: 50 }, () => rtmpPlayer(t.rtmpUrl('live/b'))));
    await until(() => players.every((p) => videoFrames(p) >= 25), 20_000, '50 players x 25 frames');
    // every player received byte-identical payloads for the same frame
    const key = (m: RtmpMessage) => `${m.type}:${m.timestamp}:${m.payload.length}`;
    const ref = new Map(players[0].msgs.map((m) => [key(m), m.payload]));
    for (const p of players.slice(1)) {
      for (const m of p.msgs.slice(-10)) {
        const r = ref.get(key(m));
        if (r) expect(r.equals(m.payload)).toBe(true);
      }
    }
    const rtmpSubs = () =>
      [...(t.server.registry.get('live', 'b')?.subscribers ?? [])].filter((s) => s.protocol === 'rtmp');
    expect(rtmpSubs().length).toBe(50);
    for (const p of players) p.client.close();
    await until(() => rtmpSubs().length === 0, 5000, 'unsubscribe');
  });

  it('a player before the publisher waits, then starts; after the wait it gets StreamNotFound', async () => {
    const early = await rtmpPlayer(t.rtmpUrl('live/late'));
    const lost = await rtmpPlayer(t.rtmpUrl('live/never'));
    await new Promise((r) => setTimeout(r, 300));
    const pub = ffmpegPublish(t.rtmpUrl('live/late'), media('h264-aac-360p.flv'));
    try {
      await until(() => videoFrames(early) >= 5, 10_000, 'late stream frames');
      expect(early.statuses).toContain('NetStream.Play.Start');
      await until(() => lost.statuses.includes('NetStream.Play.StreamNotFound'), 5000, 'StreamNotFound');
      await until(() => lost.closed, 3000, 'close after not found');
    } finally {
      early.client.close();
      await stop(pub);
    }
  });

  it('HTTP-FLV: headers, CORS, HEAD, and 404 for an unknown stream after the wait', async () => {
    const head = await fetch(t.httpUrl('live/a.flv'), { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-type')).toBe('video/x-flv');
    expect(head.headers.get('access-control-allow-origin')).toBe('*');
    const missing = await fetch(t.httpUrl('live/nope.flv'));
    expect(missing.status).toBe(404);
    expect(await missing.text()).toMatch(/not found/);
    const ctl = new AbortController();
    const res = await fetch(t.httpUrl('live/a.flv'), { signal: ctl.signal });
    expect(res.status).toBe(200);
    const reader = new FlvReader();
    const tags: FlvTag[] = [];
    const body = res.body!.getReader();
    while (tags.filter((x) => x.type === 9).length < 10) {
      const { value, done } = await body.read();
      if (done) break;
      tags.push(...reader.push(Buffer.from(value)));
    }
    ctl.abort();
    expect(reader.header).toEqual({ audio: true, video: true });
    expect(tags[0].type).toBe(18);
    expect(tags.find((x) => x.type === 9)?.body.subarray(0, 2)).toEqual(Buffer.from([0x17, 0x00]));
  });

  it('WebSocket-FLV carries the same FLV byte stream in binary frames', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${t.httpPort}/live/c.flv`);
    const reader = new FlvReader();
    const tags: FlvTag[] = [];
    ws.on('message', (d: Buffer, isBinary: boolean) => {
      expect(isBinary).toBe(true);
      tags.push(...reader.push(Buffer.from(d)));
    });
    await until(() => tags.filter((x) => x.type === 9).length >= 10, 10_000, 'ws-flv tags');
    ws.close();
    expect(reader.header).toEqual({ audio: true, video: true });
    expect(decodeAmf0(tags[0].body)[0]).toBe('onMetaData');
    const firstFrame = tags.find((x) => x.type === 9 && x.body[1] === 1);
    expect(firstFrame?.body[0]).toBe(0x17);
  });

  it('publisher disconnect mid-play: players get UnpublishNotify and the name is free again', async () => {
    const pub = ffmpegPublish(t.rtmpUrl('live/gone'), media('h264-aac-360p.flv'));
    await t.waitLive('live', 'gone');
    const p = await rtmpPlayer(t.rtmpUrl('live/gone'));
    const ffplay = run('ffmpeg', ['-v', 'error', '-i', t.rtmpUrl('live/gone'), '-f', 'null', '-'], 30_000);
    await until(() => videoFrames(p) >= 5, 10_000, 'frames');
    await new Promise((r) => setTimeout(r, 1500));
    await stop(pub); // SIGKILL: no FCUnpublish, the socket just closes
    await until(() => p.statuses.includes('NetStream.Play.UnpublishNotify'), 5000, 'UnpublishNotify');
    await until(() => p.closed, 3000, 'player closed');
    const r = await ffplay; // ffmpeg treats UnpublishNotify as end of stream
    expect(r.signal).toBeNull();
    expect(r.stderr).not.toMatch(/error while decoding|Invalid data/i);
    await until(() => !t.server.registry.get('live', 'gone')?.live, 3000, 'name released');
    const again = ffmpegPublish(t.rtmpUrl('live/gone'), media('h264-aac-360p.flv'));
    try {
      await t.waitLive('live', 'gone');
    } finally {
      await stop(again);
    }
  });
});
