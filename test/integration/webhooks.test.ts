import type { ServerResponse } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import type { WebhookEvent } from '../../src/webhooks/events.js';
import { verifyBodySignature } from '../../src/webhooks/signature.js';
import { type FlvPublisher, publishFlv } from '../helpers/flv-publisher.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hasTool, media } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';
import { HookServer, type ReceivedHook, sendJson } from '../helpers/webhook-receiver.js';

/**
 * Webhooks end to end: a real HTTP receiver decides publish/play (allow, deny, rename, time out) before the
 * client gets its answer, and hears about session events (connect, publish, unpublish, play, stop).
 */

const HOOK_SECRET = 'webhook-test-secret-0123456789abcdef';
const FILE = media('h264-aac-360p.flv');
const DENIED = 'publish refused: NetStream.Publish.Denied';

const eventOf = (h: ReceivedHook): WebhookEvent => JSON.parse(h.body.toString('utf8')) as WebhookEvent;

/** A decision handler for `event`; every other event (notifications) gets 204. */
function deciding(
  event: 'publish' | 'play',
  answer: (ev: WebhookEvent, res: ServerResponse) => void,
): (h: ReceivedHook, res: ServerResponse) => void {
  return (h, res) => {
    const ev = eventOf(h);
    if (ev.event === event) answer(ev, res);
    else res.writeHead(204).end();
  };
}

const allowAll = (_h: ReceivedHook, res: ServerResponse): void => {
  res.writeHead(204).end();
};

const publishers: FlvPublisher[] = [];
const clients: RtmpClient[] = [];
afterEach(() => {
  for (const p of publishers.splice(0)) {
    p.stop();
    p.client.close();
  }
  for (const c of clients.splice(0)) c.close();
});

async function publish(url: string): Promise<FlvPublisher> {
  const p = await publishFlv(url, FILE);
  publishers.push(p);
  return p;
}

/** The first `n` bytes of a streaming response body (then the body is cancelled). */
async function firstBytes(res: Response, n: number): Promise<Buffer> {
  const reader = res.body!.getReader();
  const chunks: Buffer[] = [];
  let len = 0;
  while (len < n) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(Buffer.from(value));
    len += value.length;
  }
  await reader.cancel();
  return Buffer.concat(chunks).subarray(0, n);
}

describe.skipIf(!hasTool('ffmpeg'))('webhook mode: the receiver decides publish and play', () => {
  let hooks: HookServer;
  let t: TestServer;
  beforeAll(async () => {
    hooks = await HookServer.start();
    t = await startTestServer({
      apps: { live: { publish: 'webhook', play: 'webhook' } },
      webhooks: { url: hooks.url('/decide?auth=abc'), secret: HOOK_SECRET, timeoutMs: 3000 },
    });
  });
  afterEach(() => {
    hooks.handler = allowAll;
    hooks.received.splice(0);
  });
  afterAll(async () => {
    await t.close();
    await hooks.close();
  });

  const publishHooks = () => hooks.received.map(eventOf).filter((e) => e.event === 'publish');

  it('allowed: the publish goes live; the receiver got the event JSON, signed', async () => {
    hooks.handler = deciding('publish', (_ev, res) => sendJson(res, 200, { allow: true }));
    await publish(t.rtmpUrl('live/cam?user=alice&sig=xyz'));
    await t.waitLive('live', 'cam');

    const hook = hooks.received.find((h) => eventOf(h).event === 'publish');
    expect(hook).toBeDefined();
    expect(hook!.method).toBe('POST');
    expect(hook!.path).toBe('/decide?auth=abc');
    expect(hook!.headers['content-type']).toBe('application/json');
    expect(hook!.headers['x-tidecast-event']).toBe('publish');
    const ev = eventOf(hook!);
    expect(ev).toMatchObject({
      event: 'publish',
      app: 'live',
      name: 'cam',
      protocol: 'rtmp',
      ip: '127.0.0.1',
      query: { user: 'alice', sig: 'xyz' },
    });
    expect(ev.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(hook!.headers['x-tidecast-delivery']).toBe(ev.id);
    expect(Math.abs(Date.parse(ev.time) - Date.now())).toBeLessThan(60_000);
    const sig = hook!.headers['x-tidecast-signature'] as string;
    expect(sig).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyBodySignature(HOOK_SECRET, hook!.body, sig, Date.now() / 1000, 300)).toBe(true);
    // the signature covers these exact bytes with this secret
    expect(verifyBodySignature('another-secret-0123456789', hook!.body, sig, Date.now() / 1000, 300)).toBe(
      false,
    );
    expect(verifyBodySignature(HOOK_SECRET, Buffer.from(`${hook!.body} `), sig, Date.now() / 1000, 300)).toBe(
      false,
    );
    // asked once, as the decision: no second `publish` notification
    await new Promise((r) => setTimeout(r, 200));
    expect(publishHooks()).toHaveLength(1);
  });

  it('denied with 403: NetStream.Publish.Denied, counted', async () => {
    hooks.handler = deciding('publish', (_ev, res) => res.writeHead(403).end('no'));
    await expect(publishFlv(t.rtmpUrl('live/d403'), FILE)).rejects.toThrow(DENIED);
    expect(t.server.counters.get('publish_rejected', 'webhook-status')).toBe(1);
    expect(t.server.registry.get('live', 'd403')?.live ?? false).toBe(false);
    expect(publishHooks().map((e) => e.name)).toEqual(['d403']);
  });

  it('denied with {allow:false}: NetStream.Publish.Denied, with the receiver reason', async () => {
    hooks.handler = deciding('publish', (_ev, res) => sendJson(res, 200, { allow: false, reason: 'banned' }));
    const client = new RtmpClient(parseRtmpUrl(t.rtmpUrl('live/dfalse')));
    clients.push(client);
    await client.connectApp();
    expect(await client.publish()).toBe('NetStream.Publish.Denied');
    const denied = client.statuses.find((s) => s.code === 'NetStream.Publish.Denied');
    expect(String(denied?.description)).toMatch(/banned/);
    // counted under a stable label, not the receiver's free text (one metrics series per reason)
    expect(t.server.counters.get('publish_rejected', 'webhook-denied')).toBe(1);
    expect(t.server.counters.get('publish_rejected', 'banned')).toBe(0);
    expect(t.logs.some((l) => l.msg === 'publish denied' && l.reason === 'banned')).toBe(true);
    expect(t.server.registry.get('live', 'dfalse')?.live ?? false).toBe(false);
  });

  it('a garbage answer or a 500 denies (fails closed)', async () => {
    const status = t.server.counters.get('publish_rejected', 'webhook-status');
    hooks.handler = deciding('publish', (_ev, res) => res.writeHead(200).end('ok!'));
    await expect(publishFlv(t.rtmpUrl('live/garbage'), FILE)).rejects.toThrow(DENIED);
    expect(t.server.counters.get('publish_rejected', 'webhook-bad-response')).toBe(1);
    hooks.handler = deciding('publish', (_ev, res) => res.writeHead(500).end());
    await expect(publishFlv(t.rtmpUrl('live/e500'), FILE)).rejects.toThrow(DENIED);
    expect(t.server.counters.get('publish_rejected', 'webhook-status')).toBe(status + 1);
    // a decision is never retried
    expect(publishHooks().map((e) => e.name)).toEqual(['garbage', 'e500']);
  });

  it('redirected ({allow:true, name:"other"}): the stream is live as live/other', async () => {
    hooks.handler = deciding('publish', (_ev, res) => sendJson(res, 200, { allow: true, name: 'other' }));
    await publish(t.rtmpUrl('live/asked'));
    await t.waitLive('live', 'other');
    expect(t.server.registry.get('live', 'asked')?.live ?? false).toBe(false);
    // a bad redirect target denies
    hooks.handler = deciding('publish', (_ev, res) => sendJson(res, 200, { allow: true, name: '../x' }));
    await expect(publishFlv(t.rtmpUrl('live/badredirect'), FILE)).rejects.toThrow(DENIED);
    expect(t.server.counters.get('publish_rejected', 'webhook-bad-redirect')).toBe(1);
  });

  it('the server waits for the answer before Publish.Start', async () => {
    let answeredAt = 0;
    hooks.handler = deciding('publish', (_ev, res) => {
      setTimeout(() => {
        answeredAt = Date.now();
        sendJson(res, 200, { allow: true });
      }, 800);
    });
    const client = new RtmpClient(parseRtmpUrl(t.rtmpUrl('live/slow')));
    clients.push(client);
    await client.connectApp();
    const asked = Date.now();
    const status = await client.publish();
    const waited = Date.now() - asked;
    expect(status).toBe('NetStream.Publish.Start');
    expect(waited).toBeGreaterThanOrEqual(700);
    expect(answeredAt).toBeGreaterThan(0);
    expect(Date.now()).toBeGreaterThanOrEqual(answeredAt);
    await until(() => t.server.registry.get('live', 'slow')?.live === true, 5000, 'live/slow live');
  });

  it('play over HTTP-FLV is decided by the receiver too (allow, deny, redirect)', async () => {
    hooks.handler = (h, res) => {
      const ev = eventOf(h);
      if (ev.event === 'publish') return sendJson(res, 200, { allow: true });
      if (ev.event !== 'play') return res.writeHead(204).end();
      if (ev.name === 'alias') return sendJson(res, 200, { allow: true, name: 'show' });
      if (ev.query?.ticket === 'letmein') return sendJson(res, 200, { allow: true });
      return sendJson(res, 403, { allow: false, reason: 'no-ticket' });
    };
    await publish(t.rtmpUrl('live/show'));
    await t.waitLive('live', 'show');

    const refused = await fetch(t.httpUrl('live/show.flv?ticket=nope'));
    expect(refused.status).toBe(403);
    await refused.body?.cancel();
    expect(t.server.counters.get('play_rejected', 'webhook-status')).toBeGreaterThanOrEqual(1);

    const ok = await fetch(t.httpUrl('live/show.flv?ticket=letmein'));
    expect(ok.status).toBe(200);
    expect((await firstBytes(ok, 3)).toString('latin1')).toBe('FLV');
    const plays = hooks.received.map(eventOf).filter((e) => e.event === 'play');
    expect(plays).toEqual([
      expect.objectContaining({ protocol: 'http-flv', name: 'show', query: { ticket: 'nope' } }),
      expect.objectContaining({ protocol: 'http-flv', name: 'show', query: { ticket: 'letmein' } }),
    ]);

    // a redirected player gets the stream the receiver named
    const redirected = await fetch(t.httpUrl('live/alias.flv'));
    expect(redirected.status).toBe(200);
    expect((await firstBytes(redirected, 3)).toString('latin1')).toBe('FLV');

    // and over RTMP the same decision: no ticket, NetStream.Play.Failed
    const player = new RtmpClient(parseRtmpUrl(t.rtmpUrl('live/show')));
    clients.push(player);
    await player.connectApp();
    expect(await player.play()).toBe('NetStream.Play.Failed');
  });
});

describe.skipIf(!hasTool('ffmpeg'))('webhook mode: a receiver that does not answer in time', () => {
  let hooks: HookServer;
  const servers: TestServer[] = [];
  const hang = (h: ReceivedHook, res: ServerResponse) => {
    if (eventOf(h).event !== 'publish') res.writeHead(204).end();
    // a publish is never answered
  };
  beforeAll(async () => {
    hooks = await HookServer.start();
    hooks.handler = hang;
  });
  afterAll(async () => {
    for (const s of servers) await s.close();
    await hooks.close();
  });

  async function server(onTimeout: 'deny' | 'allow'): Promise<TestServer> {
    const s = await startTestServer({
      apps: { live: { publish: 'webhook', play: 'open' } },
      webhooks: { url: hooks.url(), timeoutMs: 500, onTimeout },
    });
    servers.push(s);
    return s;
  }

  it('onTimeout deny (the default): NetStream.Publish.Denied after timeoutMs', async () => {
    const t = await server('deny');
    const started = Date.now();
    await expect(publishFlv(t.rtmpUrl('live/hang'), FILE)).rejects.toThrow(DENIED);
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    expect(t.server.counters.get('publish_rejected', 'webhook-timeout')).toBe(1);
  });

  it('onTimeout allow: the publish goes live after timeoutMs', async () => {
    const t = await server('allow');
    const started = Date.now();
    await publish(t.rtmpUrl('live/hang'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(450);
    await t.waitLive('live', 'hang');
  });
});

describe.skipIf(!hasTool('ffmpeg'))('notification webhooks (open mode)', () => {
  let hooks: HookServer;
  let t: TestServer;
  beforeAll(async () => {
    hooks = await HookServer.start();
    t = await startTestServer({
      apps: { live: { publish: 'open', play: 'open' } },
      webhooks: { url: hooks.url('/events'), secret: HOOK_SECRET },
    });
  });
  afterAll(async () => {
    await t.close();
    await hooks.close();
  });

  const events = () => hooks.received.map(eventOf);
  const seen = (event: string, name?: string) =>
    events().find((e) => e.event === event && (name === undefined || e.name === name));

  it('connect, publish, then unpublish when the publisher leaves; play and stop for a player', async () => {
    const pub = await publish(t.rtmpUrl('live/n'));
    await t.waitLive('live', 'n');
    await until(
      () => seen('connect') !== undefined && seen('publish', 'n') !== undefined,
      5000,
      'connect+publish',
    );
    const connect = seen('connect')!;
    const published = seen('publish', 'n')!;
    expect(connect).toMatchObject({ app: 'live', protocol: 'rtmp', ip: '127.0.0.1' });
    expect(published).toMatchObject({ app: 'live', name: 'n', protocol: 'rtmp', ip: '127.0.0.1' });
    expect(published.sessionId).toBe(connect.sessionId);
    expect(Date.parse(published.time)).toBeGreaterThanOrEqual(Date.parse(connect.time));
    expect(seen('unpublish')).toBeUndefined();

    // a player: play, then stop when it leaves
    const player = new RtmpClient(parseRtmpUrl(t.rtmpUrl('live/n')));
    clients.push(player);
    await player.connectApp();
    expect(await player.play()).toBe('NetStream.Play.Start');
    await until(() => seen('play', 'n') !== undefined, 5000, 'play event');
    expect(seen('play', 'n')).toMatchObject({ app: 'live', protocol: 'rtmp', ip: '127.0.0.1' });
    const flv = await fetch(t.httpUrl('live/n.flv'));
    expect((await firstBytes(flv, 3)).toString('latin1')).toBe('FLV');
    await until(
      () => events().some((e) => e.event === 'stop' && e.protocol === 'http-flv'),
      5000,
      'stop event of the HTTP-FLV player',
    );
    expect(events().some((e) => e.event === 'play' && e.protocol === 'http-flv')).toBe(true);
    player.close();
    await until(
      () => events().some((e) => e.event === 'stop' && e.protocol === 'rtmp' && e.name === 'n'),
      5000,
      'stop event of the RTMP player',
    );

    // the publisher leaves: unpublish
    pub.stop();
    pub.client.close();
    await until(() => seen('unpublish', 'n') !== undefined, 5000, 'unpublish event');
    expect(seen('unpublish', 'n')).toMatchObject({
      app: 'live',
      protocol: 'rtmp',
      sessionId: connect.sessionId,
    });
    expect(Date.parse(seen('unpublish', 'n')!.time)).toBeGreaterThanOrEqual(Date.parse(published.time));

    // every notification is signed
    for (const h of hooks.received) {
      const sig = h.headers['x-tidecast-signature'] as string;
      expect(verifyBodySignature(HOOK_SECRET, h.body, sig, Date.now() / 1000, 300)).toBe(true);
      expect(h.headers['x-tidecast-event']).toBe(eventOf(h).event);
    }
  });
});
