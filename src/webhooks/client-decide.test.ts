import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { closedPort, HookServer, sendJson } from '../../test/helpers/webhook-receiver.js';
import { WebhookClient, type WebhookClientOptions } from './client.js';
import { createWebhookEvent, type WebhookEvent } from './events.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, verifyBodySignature } from './signature.js';

const SECRET = 'a-long-enough-shared-secret';

function publishEvent(): WebhookEvent {
  return createWebhookEvent({
    event: 'publish',
    sessionId: 's1',
    app: 'live',
    name: 'cam1',
    protocol: 'rtmp',
    ip: '127.0.0.1',
    query: { token: 'abc' },
  });
}

describe('WebhookClient.decide (real HTTP receiver)', () => {
  let hooks: HookServer;
  let client: WebhookClient;
  const open = (opts: Partial<WebhookClientOptions> = {}) => {
    client = new WebhookClient({ timeoutMs: 2_000, retries: 3, retryBaseMs: 10, secret: SECRET, ...opts });
    client.start();
    return client;
  };

  beforeEach(async () => {
    hooks = await HookServer.start();
  });
  afterEach(async () => {
    await client?.close();
    await hooks.close();
  });

  it('allows on 2xx with an empty body, POSTing the event as JSON with its headers', async () => {
    const ev = publishEvent();
    expect(await open().decide(hooks.url(), ev, { onTimeout: 'deny' })).toEqual({ kind: 'allow' });
    expect(hooks.received).toHaveLength(1);
    const [hook] = hooks.received;
    expect(hook.method).toBe('POST');
    expect(hook.headers['content-type']).toBe('application/json');
    expect(hook.headers[EVENT_HEADER.toLowerCase()]).toBe('publish');
    expect(hook.headers[DELIVERY_HEADER.toLowerCase()]).toBe(ev.id);
    expect(JSON.parse(hook.body.toString())).toEqual(ev);
  });

  it('allows on {"allow": true}', async () => {
    hooks.handler = (_h, res) => sendJson(res, 200, { allow: true });
    expect(await open().decide(hooks.url(), publishEvent(), { onTimeout: 'deny' })).toEqual({
      kind: 'allow',
    });
  });

  it('denies on {"allow": false, "reason"}', async () => {
    hooks.handler = (_h, res) => sendJson(res, 200, { allow: false, reason: 'bad token' });
    const decision = await open().decide(hooks.url(), publishEvent(), { onTimeout: 'allow' });
    expect(decision).toEqual({ kind: 'deny', reason: 'bad token', status: 200 });
  });

  it('denies on 403, without retrying', async () => {
    hooks.handler = (_h, res) => res.writeHead(403).end('forbidden');
    const decision = await open().decide(hooks.url(), publishEvent(), { onTimeout: 'allow' });
    expect(decision).toEqual({ kind: 'deny', reason: 'webhook-status', status: 403 });
    expect(hooks.received).toHaveLength(1);
  });

  it('does not retry a 500 either (a gate is asked once)', async () => {
    hooks.handler = (_h, res) => res.writeHead(500).end();
    const decision = await open().decide(hooks.url(), publishEvent(), { onTimeout: 'allow' });
    expect(decision).toEqual({ kind: 'deny', reason: 'webhook-status', status: 500 });
    expect(hooks.received).toHaveLength(1);
  });

  it('allows with a rewritten stream name', async () => {
    hooks.handler = (_h, res) => sendJson(res, 200, { allow: true, name: 'cam1_hd' });
    const decision = await open().decide(hooks.url(), publishEvent(), { onTimeout: 'deny' });
    expect(decision).toEqual({ kind: 'allow', name: 'cam1_hd' });
  });

  it('denies an invalid redirect name', async () => {
    hooks.handler = (_h, res) => sendJson(res, 200, { allow: true, name: '../../etc/passwd' });
    const decision = await open().decide(hooks.url(), publishEvent(), { onTimeout: 'allow' });
    expect(decision).toEqual({ kind: 'deny', reason: 'webhook-bad-redirect', status: 200 });
  });

  it('denies a body over 64 KiB', async () => {
    hooks.handler = (_h, res) => sendJson(res, 200, { allow: true, pad: 'x'.repeat(70_000) });
    const decision = await open().decide(hooks.url(), publishEvent(), { onTimeout: 'allow' });
    expect(decision).toMatchObject({ kind: 'deny', reason: 'webhook-body-too-large' });
  });

  for (const onTimeout of ['deny', 'allow'] as const) {
    it(`a timeout is ${onTimeout === 'deny' ? 'a deny' : 'an allow'} with onTimeout: ${onTimeout}`, async () => {
      hooks.handler = () => {}; // never answers
      const started = Date.now();
      const decision = await open({ timeoutMs: 300 }).decide(hooks.url(), publishEvent(), { onTimeout });
      const elapsed = Date.now() - started;
      expect(decision).toEqual(
        onTimeout === 'deny' ? { kind: 'deny', reason: 'webhook-timeout' } : { kind: 'allow' },
      );
      expect(elapsed).toBeGreaterThanOrEqual(250);
      expect(elapsed).toBeLessThan(2_500);
      expect(hooks.received).toHaveLength(1);
    });
  }

  it('denies when nothing listens', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/hook`;
    expect(await open().decide(url, publishEvent(), { onTimeout: 'allow' })).toEqual({
      kind: 'deny',
      reason: 'webhook-unreachable',
    });
  });

  it('denies a bad URL without sending', async () => {
    const decision = await open().decide('ftp://127.0.0.1/x', publishEvent(), { onTimeout: 'allow' });
    expect(decision).toEqual({ kind: 'deny', reason: 'webhook-bad-url' });
  });

  it('signs the exact body: verifies with the secret, fails with another', async () => {
    await open().decide(hooks.url(), publishEvent(), { onTimeout: 'deny' });
    const [hook] = hooks.received;
    const header = hook.headers[SIGNATURE_HEADER.toLowerCase()] as string;
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const now = Date.now() / 1000;
    expect(verifyBodySignature(SECRET, hook.body, header, now, 300)).toBe(true);
    expect(verifyBodySignature('some-other-shared-secret', hook.body, header, now, 300)).toBe(false);
  });

  it('sends no signature without a secret', async () => {
    await open({ secret: undefined }).decide(hooks.url(), publishEvent(), { onTimeout: 'deny' });
    expect(hooks.received[0].headers[SIGNATURE_HEADER.toLowerCase()]).toBeUndefined();
  });

  it('reuses a keep-alive connection', async () => {
    const c = open();
    await c.decide(hooks.url(), publishEvent(), { onTimeout: 'deny' });
    await c.decide(hooks.url(), publishEvent(), { onTimeout: 'deny' });
    expect(hooks.received.map((h) => h.headers.connection)).toEqual(['keep-alive', 'keep-alive']);
  });

  it('close() aborts a hanging request promptly, as a deny', async () => {
    hooks.handler = () => {};
    const c = open({ timeoutMs: 30_000 });
    const pending = c.decide(hooks.url(), publishEvent(), { onTimeout: 'allow' });
    while (hooks.received.length === 0) await new Promise((r) => setTimeout(r, 5));
    const started = Date.now();
    await c.close();
    expect(await pending).toEqual({ kind: 'deny', reason: 'webhook-closed' });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('denies when the client is not running', async () => {
    const c = new WebhookClient({ timeoutMs: 1_000, retries: 0, retryBaseMs: 10 });
    expect(await c.decide(hooks.url(), publishEvent(), { onTimeout: 'allow' })).toEqual({
      kind: 'deny',
      reason: 'webhook-closed',
    });
    expect(hooks.received).toHaveLength(0);
  });
});
