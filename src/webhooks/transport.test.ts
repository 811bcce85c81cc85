import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { HookServer } from '../../test/helpers/webhook-receiver.js';
import { HttpTransport, MAX_RESPONSE_BYTES, type PostOptions } from './transport.js';

describe('HttpTransport (real HTTP receiver)', () => {
  let hooks: HookServer;
  let transport: HttpTransport;
  const closing = new AbortController();
  const post = (extra: Partial<PostOptions> = {}) =>
    transport.post({
      url: new URL(hooks.url()),
      body: Buffer.from('{}'),
      headers: { 'content-type': 'application/json' },
      timeoutMs: 2_000,
      closeSignal: closing.signal,
      ...extra,
    });

  beforeEach(async () => {
    hooks = await HookServer.start();
    transport = new HttpTransport();
  });
  afterEach(async () => {
    transport.destroy();
    await hooks.close();
  });

  it('returns status and body', async () => {
    hooks.handler = (_h, res) => res.writeHead(202).end('hello');
    expect(await post()).toEqual({ kind: 'response', status: 202, body: Buffer.from('hello') });
  });

  it('stops reading a chunked body past the limit', async () => {
    hooks.handler = (_h, res) => {
      res.writeHead(200); // no content-length: chunked
      for (let i = 0; i < 20; i++) res.write(Buffer.alloc(8 * 1024, 0x61));
      res.end();
    };
    expect(MAX_RESPONSE_BYTES).toBe(64 * 1024);
    expect(await post()).toEqual({ kind: 'too-large', status: 200 });
  });

  it('resends once on a fresh socket when a reused keep-alive socket is reset before any response', async () => {
    hooks.handler = (_h, res) => {
      if (hooks.received.length === 2)
        res.socket?.destroy(); // the idle socket "closed" under the client
      else res.writeHead(204).end();
    };
    expect(await post()).toMatchObject({ kind: 'response', status: 204 });
    expect(await post()).toMatchObject({ kind: 'response', status: 204 });
    expect(hooks.received).toHaveLength(3);
  });

  it('does not resend a reset on a fresh socket', async () => {
    hooks.handler = (_h, res) => res.socket?.destroy();
    expect(await post()).toMatchObject({ kind: 'network', error: 'ECONNRESET' });
    expect(hooks.received).toHaveLength(1);
  });

  it('reports closed at once when the close signal has fired', async () => {
    const closed = new AbortController();
    closed.abort();
    expect(await post({ closeSignal: closed.signal })).toEqual({ kind: 'closed' });
    expect(hooks.received).toHaveLength(0);
  });
});
