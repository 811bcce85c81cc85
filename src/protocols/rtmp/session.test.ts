import { describe, expect, it } from 'vitest';
import { decodeAmf0 } from '../../formats/amf/amf0.js';
import type { AmfObject, AmfValue } from '../../formats/amf/types.js';
import { ChunkDecoder } from './chunk-decoder.js';
import { RtmpClientSession } from './client-session.js';
import { command } from './commands.js';
import * as ctl from './control.js';
import { MessageType, type RtmpMessage } from './message.js';
import { type ConnectRequest, RtmpServerSession, type ServerSessionHandler } from './server-session.js';

/** C0+C1+C2 (or S0+S1+S2): what each side sends before its chunk stream. */
const HANDSHAKE_BYTES = 1 + 1536 + 1536;

/** Decodes one direction of the conversation (after the handshake) to check what went over the wire. */
class Tap {
  private skip = HANDSHAKE_BYTES;
  private readonly decoder = new ChunkDecoder();
  readonly messages: RtmpMessage[] = [];
  push(b: Buffer): void {
    let data = b;
    if (this.skip > 0) {
      const n = Math.min(this.skip, data.length);
      this.skip -= n;
      data = data.subarray(n);
    }
    if (data.length) this.messages.push(...this.decoder.push(data));
  }
  commands(): AmfValue[][] {
    return this.messages.filter((m) => m.type === MessageType.CommandAmf0).map((m) => decodeAmf0(m.payload));
  }
  userControls(): ctl.ParsedUserControl[] {
    return this.messages
      .filter((m) => m.type === MessageType.UserControl)
      .map((m) => ctl.parseUserControl(m.payload)!);
  }
}

type Call = [string, ...unknown[]];

function converse(opts: { reject?: string; digest?: boolean; windowAckSize?: number } = {}) {
  const calls: Call[] = [];
  const statuses: AmfObject[] = [];
  const connects: ConnectRequest[] = [];
  const handler: ServerSessionHandler = {
    onHandshakeDone: (mode) => calls.push(['handshake', mode]),
    onConnect: (req) => {
      connects.push(req);
      return opts.reject;
    },
    onPublish: (req) => calls.push(['publish', req]),
    onPlay: (req) => calls.push(['play', req]),
    onMedia: (msg) => calls.push(['media', msg]),
    onStreamClosed: (id) => calls.push(['closed', id]),
    onPause: (id, paused) => calls.push(['pause', id, paused]),
    onReceive: (id, kind, on) => calls.push(['receive', id, kind, on]),
    onUnknownCommand: (name) => calls.push(['unknown', name]),
  };
  // Synchronous, non-reentrant delivery: each push completes before the next one starts.
  const queue: Array<() => void> = [];
  let busy = false;
  const deliver = (fn: () => void) => {
    queue.push(fn);
    if (busy) return;
    busy = true;
    try {
      while (queue.length) queue.shift()!();
    } finally {
      busy = false;
    }
  };
  const toServer = new Tap();
  const toClient = new Tap();
  let ready = 0;
  const server: RtmpServerSession = new RtmpServerSession({
    outChunkSize: 4096,
    windowAckSize: opts.windowAckSize ?? 5_000_000,
    handler,
    send: (b) => {
      toClient.push(b);
      deliver(() => client.push(b));
    },
  });
  const client: RtmpClientSession = new RtmpClientSession({
    digest: opts.digest ?? false,
    handler: { onReady: () => ready++, onStatus: (s) => statuses.push(s), onMedia: () => {} },
    send: (b) => {
      toServer.push(b);
      deliver(() => server.push(b));
    },
  });
  client.start();
  return { server, client, calls, connects, statuses, toServer, toClient, ready: () => ready };
}

describe('RtmpClientSession <-> RtmpServerSession', () => {
  it('completes the handshake (simple and digest)', () => {
    const c = converse();
    expect(c.calls).toEqual([['handshake', 'simple']]);
    expect(c.ready()).toBe(1);
    expect(c.server.handshaking).toBe(false);
    // the client announces its chunk size right after the handshake
    expect(c.toServer.messages[0].type).toBe(MessageType.SetChunkSize);
    expect(c.toServer.messages[0].payload.readUInt32BE(0)).toBe(4096);
    const d = converse({ digest: true });
    expect(d.calls).toEqual([['handshake', 'digest']]);
  });

  it('connect: WindowAckSize, SetPeerBandwidth, SetChunkSize, then _result with Connect.Success', async () => {
    const c = converse({ windowAckSize: 2_500_000 });
    const info = await c.client.connect('live', 'rtmp://localhost/live', { fourCcList: ['hvc1', 'av01'] });
    expect(info.code).toBe('NetConnection.Connect.Success');
    expect(info.level).toBe('status');
    expect(c.toClient.messages.map((m) => m.type)).toEqual([
      MessageType.WindowAckSize,
      MessageType.SetPeerBandwidth,
      MessageType.SetChunkSize,
      MessageType.CommandAmf0,
    ]);
    const [win, bw, size, res] = c.toClient.messages;
    expect(win.payload.readUInt32BE(0)).toBe(2_500_000);
    expect(bw.payload.readUInt32BE(0)).toBe(2_500_000);
    expect(size.payload.readUInt32BE(0)).toBe(4096);
    const [name, txn, props] = decodeAmf0(res.payload);
    expect([name, txn]).toEqual(['_result', 1]);
    expect((props as AmfObject).fourCcList).toEqual(expect.arrayContaining(['avc1', 'hvc1', 'av01', 'mp4a']));
    expect(c.server.chunkSize).toBe(4096);
    expect(c.connects[0]).toMatchObject({
      app: 'live',
      tcUrl: 'rtmp://localhost/live',
      flashVer: 'LNX 9,0,124,2',
      fourCcList: ['hvc1', 'av01'],
    });
  });

  it('connect: the app query (or the tcUrl query) is split off for auth', async () => {
    const c = converse();
    await c.client.connect('live/?token=1', 'rtmp://h/live?token=1');
    expect(c.connects[0]).toMatchObject({ app: 'live', query: 'token=1' });
    const d = converse();
    await d.client.connect('live', 'rtmp://h/live?sig=2');
    expect(d.connects[0]).toMatchObject({ app: 'live', query: 'sig=2' });
  });

  it('connect rejected by the handler: the client promise rejects with Connect.Rejected', async () => {
    const c = converse({ reject: 'unknown app' });
    await expect(c.client.connect('nope', 'rtmp://localhost/nope')).rejects.toThrow(
      'NetConnection.Connect.Rejected',
    );
    expect(c.server.connect).toBeUndefined();
    expect(c.toClient.messages.map((m) => m.type)).toEqual([MessageType.CommandAmf0]);
    expect(c.toClient.commands()[0][3]).toMatchObject({ level: 'error', description: 'unknown app' });
    // nothing but connect is accepted afterwards
    expect(() => c.client.send(command(['createStream', 2, null]))).toThrow(/before connect/);
  });

  it('createStream returns 1, then 2', async () => {
    const c = converse();
    await c.client.connect('live', 'rtmp://localhost/live');
    expect(await c.client.createStream()).toBe(1);
    expect(await c.client.createStream()).toBe(2);
  });

  it('publish: FCPublish gets onFCPublish; onPublish gets the name and the query split', async () => {
    const c = converse();
    await c.client.connect('live', 'rtmp://localhost/live');
    await c.client.createStream();
    const before = c.toClient.commands().length;
    c.client.publish('key?token=abc');
    expect(c.calls.filter(([k]) => k === 'publish')).toEqual([
      ['publish', { streamId: 1, name: 'key', query: 'token=abc', type: 'live' }],
    ]);
    const replies = c.toClient.commands().slice(before);
    const fc = replies.find((v) => v[0] === 'onFCPublish');
    expect(fc).toBeDefined();
    expect(fc?.[3]).toMatchObject({ code: 'NetStream.Publish.Start', description: 'key?token=abc' });
    // releaseStream and FCPublish carried transaction ids: both are answered with _result
    expect(replies.filter((v) => v[0] === '_result')).toHaveLength(2);
  });

  it('publisher media reaches onMedia; AMF3 data arrives as AMF0 data', async () => {
    const c = converse();
    await c.client.connect('live', 'rtmp://localhost/live');
    const sid = await c.client.createStream();
    const video = Buffer.alloc(10_000, 0x17);
    c.client.send({ csid: 7, type: MessageType.Video, streamId: sid, timestamp: 40, payload: video });
    const amf0 = command(['onTextData', 0, { text: 'x' }]).payload;
    const amf3 = Buffer.concat([Buffer.from([0]), amf0]);
    c.client.send({ csid: 5, type: MessageType.DataAmf3, streamId: sid, timestamp: 41, payload: amf3 });
    const media = c.calls.filter(([k]) => k === 'media').map(([, m]) => m as RtmpMessage);
    expect(media).toHaveLength(2);
    expect(media[0]).toMatchObject({ type: 9, streamId: 1, timestamp: 40 });
    expect(media[0].payload.equals(video)).toBe(true);
    expect(media[1].type).toBe(MessageType.DataAmf0);
    expect(media[1].payload.equals(amf0)).toBe(true);
  });

  it('play with start -1000 (live) and the default duration and reset', async () => {
    const c = converse();
    await c.client.connect('live', 'rtmp://localhost/live');
    await c.client.createStream();
    c.client.play('movie?u=1');
    expect(c.calls.filter(([k]) => k === 'play')).toEqual([
      ['play', { streamId: 1, name: 'movie', query: 'u=1', start: -1000, duration: -1, reset: true }],
    ]);
  });

  it('pause, receiveVideo and deleteStream reach the handler', async () => {
    const c = converse();
    await c.client.connect('live', 'rtmp://localhost/live');
    const sid = await c.client.createStream();
    c.client.send(command(['pause', 0, null, true, 0], sid, 8));
    c.client.send(command(['receiveVideo', 0, null, false], sid, 8));
    c.client.send(command(['deleteStream', 0, null, sid]));
    expect(c.calls.slice(1)).toEqual([
      ['pause', 1, true],
      ['receive', 1, 'video', false],
      ['closed', 1],
    ]);
    expect(c.toClient.commands().at(-1)?.[3]).toMatchObject({ code: 'NetStream.Pause.Notify' });
  });

  it('an unknown command with a transaction id is answered with _error', async () => {
    const c = converse();
    await c.client.connect('live', 'rtmp://localhost/live');
    await expect(c.client.call('frobnicate', null)).rejects.toThrow('NetConnection.Call.Failed');
    expect(c.calls.at(-1)).toEqual(['unknown', 'frobnicate']);
  });

  it('a PingRequest from the server is answered with a PingResponse (and vice versa)', async () => {
    const c = converse();
    await c.client.connect('live', 'rtmp://localhost/live');
    c.server.ping(123_456);
    expect(c.toClient.userControls()).toContainEqual({
      event: ctl.UserControlEvent.PingRequest,
      value: 123_456,
      extra: undefined,
    });
    expect(c.toServer.userControls()).toContainEqual({
      event: ctl.UserControlEvent.PingResponse,
      value: 123_456,
      extra: undefined,
    });
    c.client.send(ctl.userControl(ctl.UserControlEvent.PingRequest, 42));
    expect(c.toClient.userControls().at(-1)).toEqual({
      event: ctl.UserControlEvent.PingResponse,
      value: 42,
      extra: undefined,
    });
  });

  it('the server sends an Acknowledgement once the client’s window is exceeded', async () => {
    const c = converse();
    await c.client.connect('live', 'rtmp://localhost/live');
    const sid = await c.client.createStream();
    c.client.send(ctl.windowAckSize(20_000));
    const acks = () => c.toClient.messages.filter((m) => m.type === MessageType.Acknowledgement);
    const video = (n: number) => ({
      csid: 7,
      type: 9,
      streamId: sid,
      timestamp: 0,
      payload: Buffer.alloc(n),
    });
    expect(acks()).toHaveLength(0);
    c.client.send(video(15_000));
    expect(acks()).toHaveLength(0);
    c.client.send(video(10_000));
    expect(acks()).toHaveLength(1);
    expect(acks()[0].payload.readUInt32BE(0)).toBe(c.server.bytesReceived);
    expect(c.server.bytesReceived).toBeGreaterThanOrEqual(20_000);
    c.client.send(video(10_000));
    expect(acks()).toHaveLength(1);
    c.client.send(video(11_000));
    expect(acks()).toHaveLength(2);
  });

  it('the client acknowledges within the server’s window', async () => {
    const c = converse({ windowAckSize: 10_000 });
    await c.client.connect('live', 'rtmp://localhost/live');
    const acks = () => c.toServer.messages.filter((m) => m.type === MessageType.Acknowledgement);
    expect(acks()).toHaveLength(0);
    c.server.sendMessages([{ csid: 7, type: 9, streamId: 1, timestamp: 0, payload: Buffer.alloc(12_000) }]);
    expect(acks().length).toBeGreaterThanOrEqual(1);
  });

  it('handles the handshake end, Set Chunk Size and connect arriving in one read', async () => {
    const held: Buffer[] = [];
    let server!: RtmpServerSession;
    const handler = {
      onHandshakeDone: () => {},
      onConnect: () => undefined,
    } as unknown as ServerSessionHandler;
    const client: RtmpClientSession = new RtmpClientSession({
      digest: false,
      handler: { onReady: () => {}, onStatus: () => {}, onMedia: () => {} },
      send: (b) => held.push(b),
    });
    server = new RtmpServerSession({
      outChunkSize: 4096,
      windowAckSize: 5_000_000,
      handler,
      send: (b) => client.push(b),
    });
    client.start();
    server.push(held.shift()!); // C0+C1 -> S0+S1+S2 -> the client sends C2 and Set Chunk Size
    const connected = client.connect('live', 'rtmp://localhost/live');
    server.push(Buffer.concat(held.splice(0))); // C2 + Set Chunk Size + connect in one read
    await expect(connected).resolves.toMatchObject({ code: 'NetConnection.Connect.Success' });
    expect(server.connect?.app).toBe('live');
  });
});
