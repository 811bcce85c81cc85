import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closedPort, HookServer, waitFor } from '../../test/helpers/webhook-receiver.js';
import { WebhookClient, type WebhookClientOptions, type WebhookLogLevel } from './client.js';
import { createWebhookEvent, type WebhookEvent } from './events.js';
import { DELIVERY_HEADER, SIGNATURE_HEADER, verifyBodySignature } from './signature.js';

const SECRET = 'a-long-enough-shared-secret';

function stopEvent(): WebhookEvent {
  return createWebhookEvent({
    event: 'stop',
    sessionId: 's2',
    app: 'live',
    name: 'cam1',
    protocol: 'hls',
    ip: '::1',
  });
}

describe('WebhookClient.notify (real HTTP receiver)', () => {
  let hooks: HookServer;
  let client: WebhookClient;
  const logs: { level: WebhookLogLevel; msg: string }[] = [];
  const open = (opts: Partial<WebhookClientOptions> = {}) => {
    client = new WebhookClient({
      timeoutMs: 2_000,
      retries: 3,
      retryBaseMs: 10,
      secret: SECRET,
      onLog: (level, _obj, msg) => logs.push({ level, msg }),
      ...opts,
    });
    client.start();
    return client;
  };
  const settled = () => client.stats().pending === 0;

  beforeEach(async () => {
    logs.length = 0;
    hooks = await HookServer.start();
  });
  afterEach(async () => {
    await client?.close();
    await hooks.close();
  });

  it('delivers once on 2xx', async () => {
    open().notify(hooks.url(), stopEvent());
    await waitFor(settled);
    expect(hooks.received).toHaveLength(1);
    expect(client.stats()).toEqual({ sent: 1, failed: 0, retried: 0, dropped: 0, pending: 0 });
  });

  it('retries on 500 then succeeds; every attempt has the same delivery id and a valid signature', async () => {
    hooks.handler = (_h, res) => res.writeHead(hooks.received.length <= 2 ? 500 : 200).end();
    const ev = stopEvent();
    open().notify(hooks.url(), ev);
    await waitFor(settled);
    expect(hooks.received).toHaveLength(3);
    expect(client.stats()).toEqual({ sent: 1, failed: 0, retried: 2, dropped: 0, pending: 0 });
    for (const hook of hooks.received) {
      expect(hook.headers[DELIVERY_HEADER.toLowerCase()]).toBe(ev.id);
      const header = hook.headers[SIGNATURE_HEADER.toLowerCase()] as string;
      expect(verifyBodySignature(SECRET, hook.body, header, Date.now() / 1000, 300)).toBe(true);
    }
  });

  it('does not retry a 400', async () => {
    hooks.handler = (_h, res) => res.writeHead(400).end();
    open().notify(hooks.url(), stopEvent());
    await waitFor(settled);
    expect(hooks.received).toHaveLength(1);
    expect(client.stats()).toMatchObject({ sent: 0, failed: 1, retried: 0 });
    expect(logs.some((l) => l.level === 'warn' && l.msg === 'webhook notification failed')).toBe(true);
  });

  it('gives up after `retries` extra attempts', async () => {
    hooks.handler = (_h, res) => res.writeHead(503).end();
    open({ retries: 2 }).notify(hooks.url(), stopEvent());
    await waitFor(settled);
    expect(hooks.received).toHaveLength(3);
    expect(client.stats()).toMatchObject({ sent: 0, failed: 1, retried: 2 });
  });

  it('retries a timeout', async () => {
    hooks.handler = (_h, res) => {
      if (hooks.received.length > 1) res.writeHead(204).end(); // the first request hangs
    };
    open({ timeoutMs: 200 }).notify(hooks.url(), stopEvent());
    await waitFor(settled);
    expect(hooks.received).toHaveLength(2);
    expect(client.stats()).toMatchObject({ sent: 1, retried: 1 });
  });

  it('retries an unreachable receiver with growing delays', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/hook`;
    const delays: number[] = [];
    open({
      retries: 3,
      retryBaseMs: 20,
      random: () => 0.999,
      onLog: (_l, obj) => {
        if (typeof obj.delayMs === 'number') delays.push(obj.delayMs);
      },
    }).notify(url, stopEvent());
    await waitFor(settled);
    expect(client.stats()).toMatchObject({ sent: 0, failed: 1, retried: 3 });
    expect(delays).toEqual([20, 40, 80]);
  });

  it('close() aborts a hanging notification and cancels pending retries', async () => {
    hooks.handler = (_h, res) => {
      if (hooks.received.length > 1) res.writeHead(500).end(); // the first request hangs
    };
    const c = open({ timeoutMs: 30_000, retryBaseMs: 60_000 });
    c.notify(hooks.url('/hang'), stopEvent());
    const second = hooks.url('/fail');
    await waitFor(() => hooks.received.length === 1);
    c.notify(second, stopEvent());
    await waitFor(() => hooks.received.length === 2);
    await waitFor(() => logs.some((l) => l.msg === 'webhook retry'));
    const started = Date.now();
    const [firstClose, secondClose] = [c.close(), c.close()];
    await secondClose; // a second close() waits for the same shutdown
    expect(c.stats().pending).toBe(0);
    await firstClose;
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(c.stats()).toEqual({ sent: 0, failed: 0, retried: 0, dropped: 2, pending: 0 });
  });

  it('drops notifications when not running, or beyond maxPending', async () => {
    const idle = new WebhookClient({ timeoutMs: 1_000, retries: 0, retryBaseMs: 10 });
    idle.notify(hooks.url(), stopEvent());
    expect(idle.stats()).toMatchObject({ dropped: 1, pending: 0 });

    hooks.handler = () => {};
    const c = open({ maxPending: 2 });
    for (let i = 0; i < 3; i++) c.notify(hooks.url(), stopEvent());
    expect(c.stats()).toMatchObject({ dropped: 1, pending: 2 });
  });
});
