import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FlvPublisher, publishFlv } from '../helpers/flv-publisher.js';
import { RawHttp } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { media } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

/**
 * The HTTP front (servers/http/fast-path.ts): HLS requests answered without node:http, everything else (and
 * anything odd) handed to node:http on the same connection. Exact bytes on the wire, so raw sockets.
 */
describe('HTTP media fast path and the hand-off to node:http', () => {
  let t: TestServer;
  let pub: FlvPublisher;
  let seg = '';
  const pl = '/live/fp/index.m3u8';
  const get = (path: string, extra = '') => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`;

  beforeAll(async () => {
    t = await startTestServer({
      hls: { segmentFormat: 'mpegts', targetDuration: 1, lowLatency: false },
      http: { headersTimeoutMs: 800 },
    });
    pub = await publishFlv(t.rtmpUrl('live/fp'), media('h264-aac-360p.flv'));
    await until(
      () => {
        void fetch(t.httpUrl('live/fp/index.m3u8'))
          .then((r) => (r.ok ? r.text() : ''))
          .then((x) => {
            seg = x.match(/^seg\d+\.ts$/m)?.[0] ?? '';
          })
          .catch(() => {});
        return seg !== '';
      },
      20_000,
      'first segment',
    );
  }, 30_000);
  afterAll(async () => {
    pub?.stop();
    pub?.client.close();
    await t?.close();
  });

  it('answers pipelined GET and HEAD in order on one keep-alive connection', async () => {
    const c = await RawHttp.open(t.httpPort);
    const head = `HEAD /live/fp/${seg} HTTP/1.1\r\nHost: x\r\n\r\n`;
    c.write([get(pl), get(`/live/fp/${seg}`), head].join(''));
    const a = await c.read();
    const b = await c.read();
    const h = await c.read({ head: true });
    expect(a.status).toBe(200);
    expect(a.headers['content-type']).toBe('application/vnd.apple.mpegurl');
    expect(a.body.toString()).toContain('#EXTM3U');
    expect(a.headers.date).toMatch(/GMT$/);
    expect(b.status).toBe(200);
    expect(b.body[0]).toBe(0x47); // TS sync byte
    expect(Number(b.headers['content-length'])).toBe(b.body.length);
    expect(h.status).toBe(200);
    expect(h.headers['content-length']).toBe(b.headers['content-length']);
    expect(h.headers.etag).toBe(b.headers.etag);
    // nothing after the HEAD response: its body was not sent
    await new Promise((r) => setTimeout(r, 100));
    expect(c.unread).toBe(0);
    c.close();
  });

  it('hands the connection to node:http for other paths, which then serves HLS the same way', async () => {
    const c = await RawHttp.open(t.httpPort);
    c.write(get(`/live/fp/${seg}`));
    const fast = await c.read();
    c.write(get('/healthz'));
    const health = await c.read();
    expect(health.status).toBe(200);
    expect(health.body.toString()).toBe('ok\n');
    c.write(get(`/live/fp/${seg}`));
    const viaNode = await c.read();
    expect(viaNode.status).toBe(200);
    expect(viaNode.headers.etag).toBe(fast.headers.etag);
    expect(viaNode.body.equals(fast.body)).toBe(true);
    c.write(get(`/live/fp/${seg}`, `If-None-Match: ${fast.headers.etag}\r\n`));
    expect((await c.read()).status).toBe(304);
    c.close();
  });

  it('answers 304 for a matching ETag and 404 with a body for unknown files', async () => {
    const c = await RawHttp.open(t.httpPort);
    c.write(get(`/live/fp/${seg}`));
    const first = await c.read();
    c.write(get(`/live/fp/${seg}`, `If-None-Match: ${first.headers.etag}\r\n`));
    const notModified = await c.read();
    expect(notModified.status).toBe(304);
    expect(notModified.body.length).toBe(0);
    c.write(get('/live/fp/seg999999.ts'));
    const missing = await c.read();
    expect(missing.status).toBe(404);
    expect(missing.body.toString()).toBe('segment not found\n');
    c.write(get('/live/nosuch/index.m3u8'));
    expect((await c.read()).status).toBe(404);
    c.close();
  });

  it('a request with a body is node:http business: the body is never read as a second request', async () => {
    const c = await RawHttp.open(t.httpPort);
    const smuggled = get(`/live/fp/${seg}`);
    c.write(`GET ${pl} HTTP/1.1\r\nHost: x\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`);
    const r = await c.read();
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/vnd.apple.mpegurl');
    await new Promise((res) => setTimeout(res, 200));
    expect(c.unread).toBe(0); // exactly one response
    c.close();
  });

  it('conflicting Transfer-Encoding and Content-Length are refused by node:http (400), and the socket closes', async () => {
    const c = await RawHttp.open(t.httpPort);
    c.write(
      `GET ${pl} HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n` +
        get(`/live/fp/${seg}`),
    );
    const r = await c.read();
    expect(r.status).toBe(400);
    await c.waitClosed();
    c.close();
  });

  it.each([
    ['obs-fold', `GET ${pl} HTTP/1.1\r\nHost: x\r\nX-A: b\r\n c\r\n\r\n`],
    ['space before the colon', `GET ${pl} HTTP/1.1\r\nHost : x\r\n\r\n`],
    ['garbage', 'HELLO\x01\x02 THERE\r\n\r\n'],
  ])('%s: node:http answers 400 and the server keeps serving', async (_label, raw) => {
    const c = await RawHttp.open(t.httpPort);
    c.write(raw);
    expect((await c.read()).status).toBe(400);
    c.close();
    const ok = await fetch(t.httpUrl(`live/fp/${seg}`));
    expect(ok.status).toBe(200);
  });

  it('a head over maxHeaderBytes gets 431', async () => {
    const c = await RawHttp.open(t.httpPort);
    c.write(`GET ${pl} HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20 * 1024)}\r\n\r\n`);
    expect((await c.read()).status).toBe(431);
    c.close();
  });

  it('a head trickled byte by byte is cut off after headersTimeoutMs (408)', async () => {
    const c = await RawHttp.open(t.httpPort);
    const started = Date.now();
    const text = `GET ${pl} HTTP/1.1\r\nHost: x\r\nX-Slow: ${'a'.repeat(100)}\r\n\r\n`;
    let i = 0;
    const timer = setInterval(() => {
      if (!c.closed && i < text.length) c.write(text[i++]);
    }, 150);
    try {
      const r = await c.read({ timeoutMs: 5000 });
      expect(r.status).toBe(408);
      await c.waitClosed();
      expect(Date.now() - started).toBeLessThan(4000);
      expect(t.server.counters.get('http_rejected', 'head-timeout')).toBeGreaterThan(0);
    } finally {
      clearInterval(timer);
      c.close();
    }
  });

  it('honours Connection: close', async () => {
    const c = await RawHttp.open(t.httpPort);
    c.write(get(pl, 'Connection: close\r\n'));
    const r = await c.read();
    expect(r.status).toBe(200);
    expect(r.headers.connection).toBe('close');
    await c.waitClosed();
  });

  it('closes an idle keep-alive connection after keepAliveTimeoutMs', async () => {
    const c = await RawHttp.open(t.httpPort);
    c.write(get(pl));
    expect((await c.read()).status).toBe(200);
    await c.waitClosed(8000);
  }, 10_000);
});
