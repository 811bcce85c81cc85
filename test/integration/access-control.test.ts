import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { signUrl } from '../../src/access/signed-url.js';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import { publishFlv } from '../helpers/flv-publisher.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { ffmpegPublish, hasTool, media, run, stop } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

/**
 * Access control end to end, with real clients on real sockets: signed URLs (RTMP publish and play, HTTP-FLV,
 * WS-FLV, HLS with its media tokens), IP binding, stream keys, IP rules and `tidecast sign`.
 */

const SECRET = 'access-test-secret-0123456789abcdef';
const FILE = media('h264-aac-360p.flv');
const DENIED = 'publish refused: NetStream.Publish.Denied';

const nowS = () => Math.floor(Date.now() / 1000);

/** `expires=..&token=..` for the stream `app/name`, as the server checks it (`/<app>/<name>`). */
function signedQuery(
  stream: string,
  opts: { expires?: number; ip?: string; secret?: string; resource?: string } = {},
): string {
  const url = signUrl({
    secret: opts.secret ?? SECRET,
    path: `/${opts.resource ?? stream}`,
    expires: opts.expires ?? nowS() + 300,
    ip: opts.ip,
  });
  return url.slice(url.indexOf('?') + 1);
}

/** Replaces one query parameter's value (tampering with a signed URL). */
function withParam(query: string, key: string, value: string): string {
  const q = new URLSearchParams(query);
  q.set(key, value);
  return q.toString();
}

/** A token with its first character changed: same length and alphabet, different value. */
function flipFirst(token: string): string {
  return (token[0] === 'A' ? 'B' : 'A') + token.slice(1);
}

interface Looping {
  client: RtmpClient;
  stop: () => void;
}

/** Our RTMP client publishing the test file in real time, looped (timestamps keep rising) until stop(). */
async function loopPublish(url: string): Promise<Looping> {
  const p = await publishFlv(url, FILE, { loop: true });
  return {
    client: p.client,
    stop: () => {
      p.stop();
      p.client.close();
    },
  };
}

interface Player {
  client: RtmpClient;
  video: number;
  closed: boolean;
}

/** Connects and plays with our RTMP client; resolves with the first Play status and the running player. */
async function rtmpPlay(url: string): Promise<{ status: string; player: Player }> {
  const player = { video: 0, closed: false } as Player;
  player.client = new RtmpClient(parseRtmpUrl(url), {
    onMedia: (m) => {
      if (m.type === 9) player.video++;
    },
    onClose: () => {
      player.closed = true;
    },
  });
  await player.client.connectApp();
  const status = await player.client.play().catch((err: Error) => `error: ${err.message}`);
  return { status, player };
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
  return Buffer.concat(chunks);
}

type WsOutcome = { kind: 'refused'; status: number } | { kind: 'frames'; frames: Buffer[] };

/** Opens a WS-FLV URL: the refusal status, or the first `n` binary frames. */
function wsOutcome(url: string, n = 3, timeoutMs = 10_000): Promise<WsOutcome> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    const frames: Buffer[] = [];
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`no answer from ${url} (frames so far: ${frames.length})`));
    }, timeoutMs);
    ws.on('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      resolve({ kind: 'refused', status: res.statusCode ?? 0 });
      res.resume();
      ws.terminate();
    });
    ws.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    ws.on('message', (data, isBinary) => {
      if (!isBinary) return;
      frames.push(Buffer.from(data as Buffer));
      if (frames.length === n) {
        clearTimeout(timer);
        resolve({ kind: 'frames', frames });
        ws.terminate();
      }
    });
  });
}

/** Polls an async check every 100 ms until it returns a value. */
async function poll<T>(check: () => Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Every URI in a media playlist: segment and part lines, EXT-X-MAP, EXT-X-PART and preload hint URIs. */
function playlistUris(text: string): string[] {
  const uris: string[] = [];
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (!l) continue;
    if (!l.startsWith('#')) uris.push(l);
    else for (const m of l.matchAll(/URI="([^"]+)"/g)) uris.push(m[1]);
  }
  return uris;
}

const publishers: Array<{ stop: () => void }> = [];
afterEach(() => {
  for (const p of publishers.splice(0)) p.stop();
});

/** publishFlv, remembered so afterEach stops it */
async function publish(url: string): Promise<void> {
  const p = await publishFlv(url, FILE);
  publishers.push({
    stop: () => {
      p.stop();
      p.client.close();
    },
  });
}

describe.skipIf(!hasTool('ffmpeg'))('signed mode: publish and play need a valid signed URL', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      apps: { live: { publish: 'signed', play: 'signed' } },
      access: { secrets: [SECRET] },
      hls: { targetDuration: 1 },
      streams: { playerWaitMs: 1000 },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('a valid signed URL publishes over RTMP', async () => {
    await publish(t.rtmpUrl(`live/ok?${signedQuery('live/ok')}`));
    await t.waitLive('live', 'ok');
    expect(t.server.counters.get('publish_rejected', 'bad-signature')).toBe(0);
  });

  const tokenOf = (q: string) => new URLSearchParams(q).get('token')!;
  const expiresOf = (q: string) => Number(new URLSearchParams(q).get('expires'));
  /** [case, query made from a valid query for live/cam, reason counted] */
  const refusals: Array<[string, (good: string) => string, string]> = [
    ['expired', () => signedQuery('live/cam', { expires: nowS() - 5 }), 'expired-signature'],
    ['token tampered', (q) => withParam(q, 'token', flipFirst(tokenOf(q))), 'bad-signature'],
    ['signed for another path', () => signedQuery('live/cam', { resource: 'live/other' }), 'bad-signature'],
    ['expiry changed', (q) => withParam(q, 'expires', String(expiresOf(q) + 3600)), 'bad-signature'],
    [
      'signed with another secret',
      () => signedQuery('live/cam', { secret: 'x'.repeat(32) }),
      'bad-signature',
    ],
    ['missing', () => '', 'missing-signature'],
    ['token missing', (q) => `expires=${expiresOf(q)}`, 'missing-signature'],
    ['malformed', () => `expires=soon&token=${'A'.repeat(43)}`, 'malformed-signature'],
  ];

  it.each(refusals)(
    '%s: publish is refused (NetStream.Publish.Denied) and counted',
    async (_, query, reason) => {
      const before = t.server.counters.get('publish_rejected', reason);
      const q = query(signedQuery('live/cam'));
      await expect(publishFlv(t.rtmpUrl(`live/cam${q ? `?${q}` : ''}`), FILE)).rejects.toThrow(DENIED);
      expect(t.server.counters.get('publish_rejected', reason)).toBe(before + 1);
      expect(t.server.registry.get('live', 'cam')?.live ?? false).toBe(false);
    },
  );

  it('ffmpeg publishes with a signed URL in the stream name; with a tampered one it is refused', async () => {
    const bad = withParam(signedQuery('live/ff'), 'expires', String(nowS() + 999));
    const refused = await run(
      'ffmpeg',
      ['-hide_banner', '-re', '-i', FILE, '-t', '3', '-c', 'copy', '-f', 'flv', t.rtmpUrl(`live/ff?${bad}`)],
      20_000,
    );
    expect(refused.code).not.toBe(0);
    expect(t.server.registry.get('live', 'ff')?.live ?? false).toBe(false);
    const pub = ffmpegPublish(t.rtmpUrl(`live/ff?${signedQuery('live/ff')}`), FILE);
    try {
      await t.waitLive('live', 'ff');
    } finally {
      await stop(pub);
    }
  });

  describe('play, with a live stream published with a signed URL', () => {
    let pub: Looping;
    beforeAll(async () => {
      pub = await loopPublish(t.rtmpUrl(`live/show?${signedQuery('live/show')}`));
      await t.waitLive('live', 'show');
    });
    afterAll(() => pub.stop());

    it('RTMP: a signed URL plays, a missing or tampered one gets NetStream.Play.Failed', async () => {
      const ok = await rtmpPlay(t.rtmpUrl(`live/show?${signedQuery('live/show')}`));
      try {
        expect(ok.status).toBe('NetStream.Play.Start');
        await until(() => ok.player.video >= 10, 10_000, 'video on the signed RTMP player');
      } finally {
        ok.player.client.close();
      }

      const missingBefore = t.server.counters.get('play_rejected', 'missing-signature');
      const missing = await rtmpPlay(t.rtmpUrl('live/show'));
      expect(missing.status).toBe('NetStream.Play.Failed');
      await until(() => missing.player.closed, 5000, 'the refused player is disconnected');
      expect(missing.player.video).toBe(0);
      expect(t.server.counters.get('play_rejected', 'missing-signature')).toBe(missingBefore + 1);

      const badBefore = t.server.counters.get('play_rejected', 'bad-signature');
      const q = signedQuery('live/show');
      const tampered = await rtmpPlay(
        t.rtmpUrl(`live/show?${withParam(q, 'token', flipFirst(new URLSearchParams(q).get('token')!))}`),
      );
      expect(tampered.status).toBe('NetStream.Play.Failed');
      expect(tampered.player.video).toBe(0);
      tampered.player.client.close();
      // a URL signed for one stream does not open another
      const other = await rtmpPlay(t.rtmpUrl(`live/show?${signedQuery('live/other')}`));
      expect(other.status).toBe('NetStream.Play.Failed');
      other.player.client.close();
      expect(t.server.counters.get('play_rejected', 'bad-signature')).toBe(badBefore + 2);
    });

    it('HTTP-FLV: 403 without or with a bad signature, 200 and an FLV stream with a valid one', async () => {
      const missing = await fetch(t.httpUrl('live/show.flv'));
      expect(missing.status).toBe(403);
      expect(await missing.text()).toMatch(/missing-signature/);
      const expired = await fetch(
        t.httpUrl(`live/show.flv?${signedQuery('live/show', { expires: nowS() - 1 })}`),
      );
      expect(expired.status).toBe(403);
      await expired.body?.cancel();
      const wrongStream = await fetch(t.httpUrl(`live/show.flv?${signedQuery('live/other')}`));
      expect(wrongStream.status).toBe(403);
      await wrongStream.body?.cancel();

      const ok = await fetch(t.httpUrl(`live/show.flv?${signedQuery('live/show')}`));
      expect(ok.status).toBe(200);
      expect(ok.headers.get('content-type')).toBe('video/x-flv');
      const head = await firstBytes(ok, 13);
      expect(head.subarray(0, 3).toString('latin1')).toBe('FLV');
    });

    it('WS-FLV: the upgrade is refused (403) without a valid signature; with one, binary FLV frames', async () => {
      const base = `ws://127.0.0.1:${t.httpPort}/live/show.flv`;
      expect(await wsOutcome(base)).toEqual({ kind: 'refused', status: 403 });
      const q = signedQuery('live/show');
      expect(await wsOutcome(`${base}?${withParam(q, 'expires', String(nowS() + 9999))}`)).toEqual({
        kind: 'refused',
        status: 403,
      });
      const ok = await wsOutcome(`${base}?${q}`, 5);
      expect(ok.kind).toBe('frames');
      if (ok.kind !== 'frames') return;
      expect(ok.frames[0].subarray(0, 3).toString('latin1')).toBe('FLV');
      expect(ok.frames.slice(1).some((f) => f[0] === 9 || f[0] === 8 || f[0] === 18)).toBe(true);
    });

    it('HLS: a playlist URL stops working once its signature expires (no grace from cached decisions)', async () => {
      const expires = nowS() + 2;
      const url = t.httpUrl(`live/show/index.m3u8?${signedQuery('live/show', { expires })}`);
      const first = await fetch(url);
      expect(first.status).toBe(200);
      await first.body?.cancel();
      await until(() => Date.now() >= expires * 1000 + 50, 5000, 'the signature to expire');
      const after = await fetch(url);
      expect(after.status).toBe(403);
      expect(await after.text()).toMatch(/expired-signature/);
    });

    it('HLS: the playlist needs the signature; its URIs carry the media token that segments need', async () => {
      const base = t.httpUrl('live/show/index.m3u8');
      expect((await fetch(base)).status).toBe(403);
      const q = signedQuery('live/show');
      const bad = await fetch(
        `${base}?${withParam(q, 'token', flipFirst(new URLSearchParams(q).get('token')!))}`,
      );
      expect(bad.status).toBe(403);
      expect(await bad.text()).toMatch(/bad-signature/);

      const text = await poll(
        async () => {
          const r = await fetch(`${base}?${q}`);
          const body = await r.text();
          if (r.status === 403) throw new Error(`a valid signed playlist URL got 403: ${body}`);
          return r.status === 200 && /#EXTINF/.test(body) ? body : undefined;
        },
        20_000,
        'a playlist with segments',
      );
      const uris = playlistUris(text);
      expect(uris.length).toBeGreaterThan(0);
      for (const uri of uris) expect(new URL(uri, base).searchParams.get('hs'), uri).toMatch(/^\d+\..+/);

      const segUri = uris.find((u) => /^seg\d+\./.test(u));
      expect(segUri, text).toBeDefined();
      const seg = new URL(segUri!, base);
      const withToken = await fetch(seg);
      expect(withToken.status).toBe(200);
      expect((await withToken.arrayBuffer()).byteLength).toBeGreaterThan(0);

      const hs = seg.searchParams.get('hs')!;
      const noToken = new URL(seg.pathname, base);
      const refused = await fetch(noToken);
      expect(refused.status).toBe(403);
      await refused.body?.cancel();
      const [expiry, mac] = hs.split('.');
      for (const forged of [`${expiry}.${flipFirst(mac)}`, `${Number(expiry) + 60}.${mac}`, `${expiry}.`]) {
        const u = new URL(seg.pathname, base);
        u.searchParams.set('hs', forged);
        const r = await fetch(u);
        expect(r.status, forged).toBe(403);
        await r.body?.cancel();
      }
      // the token is for this stream only
      const init = uris.find((u) => u.startsWith('init.mp4'));
      if (init) expect((await fetch(new URL(init, base))).status).toBe(200);
      const elsewhere = new URL(t.httpUrl(`live/ok/${segUri!.split('?')[0]}`));
      elsewhere.searchParams.set('hs', hs);
      expect((await fetch(elsewhere)).status).toBe(403);
    });
  });
});

describe.skipIf(!hasTool('ffmpeg'))('signed mode with access.bindIp', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      apps: { live: { publish: 'signed', play: 'signed' } },
      access: { secrets: [SECRET], bindIp: true },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('a URL bound to another IP is refused, an unbound one too; one bound to 127.0.0.1 publishes', async () => {
    await expect(
      publishFlv(t.rtmpUrl(`live/b?${signedQuery('live/b', { ip: '10.1.2.3' })}`), FILE),
    ).rejects.toThrow(DENIED);
    await expect(publishFlv(t.rtmpUrl(`live/b?${signedQuery('live/b')}`), FILE)).rejects.toThrow(DENIED);
    expect(t.server.counters.get('publish_rejected', 'bad-signature')).toBe(2);
    await publish(t.rtmpUrl(`live/b?${signedQuery('live/b', { ip: '127.0.0.1' })}`));
    await t.waitLive('live', 'b');
    // and HTTP-FLV play follows the same rule
    const other = await fetch(t.httpUrl(`live/b.flv?${signedQuery('live/b', { ip: '192.0.2.1' })}`));
    expect(other.status).toBe(403);
    await other.body?.cancel();
    const mine = await fetch(t.httpUrl(`live/b.flv?${signedQuery('live/b', { ip: '127.0.0.1' })}`));
    expect(mine.status).toBe(200);
    expect((await firstBytes(mine, 3)).subarray(0, 3).toString('latin1')).toBe('FLV');
  });
});

describe.skipIf(!hasTool('ffmpeg'))('key mode: stream keys', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      apps: { live: { publish: 'key', play: 'open' } },
      access: { keys: [{ key: 'sk_live_abc123', stream: 'cam1' }] },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('the key as the stream name (OBS style) publishes as the granted name', async () => {
    await publish(t.rtmpUrl('live/sk_live_abc123'));
    await t.waitLive('live', 'cam1');
    expect(t.server.registry.get('live', 'cam1')?.live).toBe(true);
    expect(t.server.registry.get('live', 'sk_live_abc123')?.live ?? false).toBe(false);
    // viewers use the public name (play is open)
    const { status, player } = await rtmpPlay(t.rtmpUrl('live/cam1'));
    try {
      expect(status).toBe('NetStream.Play.Start');
      await until(() => player.video >= 5, 10_000, 'video on live/cam1');
    } finally {
      player.client.close();
    }
  });

  it('a wrong key is refused and counted', async () => {
    await expect(publishFlv(t.rtmpUrl('live/sk_live_wrong'), FILE)).rejects.toThrow(DENIED);
    expect(t.server.counters.get('publish_rejected', 'bad-key')).toBe(1);
    expect(t.server.registry.get('live', 'sk_live_wrong')?.live ?? false).toBe(false);
    expect(t.logs.some((l) => l.msg === 'publish denied' && l.reason === 'bad-key')).toBe(true);
    // stream keys, right or wrong, never reach the logs
    const logText = JSON.stringify(t.logs);
    expect(logText).not.toContain('sk_live_wrong');
    expect(logText).not.toContain('sk_live_abc123');
  });

  it('?key= works for the granted name only', async () => {
    await expect(publishFlv(t.rtmpUrl('live/cam2?key=sk_live_abc123'), FILE)).rejects.toThrow(DENIED);
    expect(t.server.counters.get('publish_rejected', 'key-stream-mismatch')).toBe(1);
    await publish(t.rtmpUrl('live/cam1?key=sk_live_abc123'));
    await until(() => t.server.registry.get('live', 'cam1')?.live === true, 10_000, 'live/cam1 live');
  });
});

describe.skipIf(!hasTool('ffmpeg'))('key mode: a keys file, reloaded; banned keys', () => {
  let t: TestServer;
  let dir: string;
  let keysFile: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tidecast-keys-'));
    keysFile = join(dir, 'keys.txt');
    writeFileSync(keysFile, '# key stream\nsk_file_one cam5\n');
    t = await startTestServer({
      apps: { live: { publish: 'key', play: 'open' } },
      access: { keysFile, keys: [{ key: 'sk_static', stream: 'cam9' }] },
    });
  });
  afterAll(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reload() (SIGHUP) picks up a changed keys file; a broken file keeps the keys in force', async () => {
    await expect(publishFlv(t.rtmpUrl('live/sk_file_two'), FILE)).rejects.toThrow(DENIED);
    await publish(t.rtmpUrl('live/sk_file_one'));
    await until(() => t.server.registry.get('live', 'cam5')?.live === true, 10_000, 'live/cam5');

    writeFileSync(keysFile, 'sk_file_two cam6\n');
    t.server.reload();
    await publish(t.rtmpUrl('live/sk_file_two'));
    await until(() => t.server.registry.get('live', 'cam6')?.live === true, 10_000, 'live/cam6');
    // a revoked key opens nothing new (cam5 ended with its publisher)
    for (const p of publishers.splice(0)) p.stop();
    await until(() => !t.server.registry.get('live', 'cam5')?.live, 10_000, 'live/cam5 over');
    await expect(publishFlv(t.rtmpUrl('live/sk_file_one'), FILE)).rejects.toThrow(DENIED);

    writeFileSync(keysFile, 'this line has three fields\n');
    t.server.reload();
    expect(t.logs.some((l) => l.msg === 'stream keys reload failed; the old keys stay')).toBe(true);
    await publish(t.rtmpUrl('live/sk_file_two'));
    await until(() => t.server.registry.get('live', 'cam6')?.live === true, 10_000, 'live/cam6 again');
    // config keys stay through reloads
    await publish(t.rtmpUrl('live/sk_static'));
    await until(() => t.server.registry.get('live', 'cam9')?.live === true, 10_000, 'live/cam9');
  });

  it('a banned key is refused with its own reason', async () => {
    t.server.access.keys.ban('sk_static');
    try {
      await expect(publishFlv(t.rtmpUrl('live/sk_static'), FILE)).rejects.toThrow(DENIED);
      expect(t.server.counters.get('publish_rejected', 'banned-key')).toBe(1);
    } finally {
      t.server.access.keys.unban('sk_static');
    }
  });
});

describe.skipIf(!hasTool('ffmpeg'))('IP rules', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      apps: {
        denied: {
          publish: { mode: 'open', ipDeny: ['127.0.0.0/8'] },
          play: { mode: 'open', ipDeny: ['127.0.0.0/8'] },
        },
        lan: { publish: { mode: 'open', ipAllow: ['10.0.0.0/8'] }, play: 'open' },
        local: { publish: { mode: 'open', ipAllow: ['127.0.0.1/32'] }, play: 'open' },
      },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  it('ipDeny 127.0.0.0/8 refuses publish and play from 127.0.0.1', async () => {
    await expect(publishFlv(t.rtmpUrl('denied/s'), FILE)).rejects.toThrow(DENIED);
    expect(t.server.counters.get('publish_rejected', 'ip-denied')).toBe(1);
    const flv = await fetch(t.httpUrl('denied/s.flv'));
    expect(flv.status).toBe(403);
    await flv.body?.cancel();
    const hls = await fetch(t.httpUrl('denied/s/index.m3u8'));
    expect(hls.status).toBe(403);
    await hls.body?.cancel();
    expect(t.server.counters.get('play_rejected', 'ip-denied')).toBe(2);
  });

  it('ipAllow 10.0.0.0/8 refuses 127.0.0.1', async () => {
    await expect(publishFlv(t.rtmpUrl('lan/s'), FILE)).rejects.toThrow(DENIED);
    expect(t.server.counters.get('publish_rejected', 'ip-not-allowed')).toBe(1);
  });

  it('ipAllow 127.0.0.1/32 lets 127.0.0.1 publish', async () => {
    await publish(t.rtmpUrl('local/s'));
    await t.waitLive('local', 's');
  });
});

/** Whether this machine can listen on `::` and take IPv4 connections there (dual stack). */
async function dualStack(): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(0, '::', () => s.close(() => resolve(true)));
  });
}

describe.skipIf(!hasTool('ffmpeg') || !(await dualStack()))(
  'a dual-stack listener: IPv4 clients arrive as ::ffff:127.0.0.1',
  () => {
    let t: TestServer;
    beforeAll(async () => {
      t = await startTestServer({
        host: '::',
        apps: {
          live: { publish: { mode: 'signed', ipAllow: ['127.0.0.1/32'] }, play: 'open' },
          v4deny: { publish: { mode: 'open', ipDeny: ['127.0.0.0/8'] }, play: 'open' },
        },
        access: { secrets: [SECRET], bindIp: true },
      });
    });
    afterAll(async () => {
      await t.close();
    });

    it('IPv4 rules and IP-bound signatures apply to IPv4-mapped addresses', async () => {
      await expect(publishFlv(t.rtmpUrl('v4deny/s'), FILE)).rejects.toThrow(DENIED);
      expect(t.server.counters.get('publish_rejected', 'ip-denied')).toBe(1);
      await expect(
        publishFlv(t.rtmpUrl(`live/m?${signedQuery('live/m', { ip: '10.9.9.9' })}`), FILE),
      ).rejects.toThrow(DENIED);
      await publish(t.rtmpUrl(`live/m?${signedQuery('live/m', { ip: '127.0.0.1' })}`));
      await t.waitLive('live', 'm');
      expect(t.server.registry.get('live', 'm')?.publisher?.remoteAddress).toBe('::ffff:127.0.0.1');
    });
  },
);

describe.skipIf(!hasTool('ffmpeg'))('tidecast sign', () => {
  let t: TestServer;
  beforeAll(async () => {
    t = await startTestServer({
      apps: { live: { publish: 'signed', play: 'signed' } },
      access: { secrets: [SECRET] },
    });
  });
  afterAll(async () => {
    await t.close();
  });

  /** `tidecast sign ...` through the real CLI entry point; resolves with stdout. */
  function sign(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (!k.startsWith('TIDECAST_') && k !== 'NODE_OPTIONS') env[k] = v;
    }
    return new Promise((resolve) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', 'sign', ...args], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => {
        stdout += d;
      });
      child.stderr.on('data', (d) => {
        stderr += d;
      });
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  }

  it('prints a URL that publishes; the same query plays over HTTP-FLV', async () => {
    const out = await sign([
      'live/cam',
      '--secret',
      SECRET,
      '--expires-in',
      '60',
      '--base-url',
      `rtmp://127.0.0.1:${t.rtmpPort}`,
    ]);
    expect(out.code, out.stderr).toBe(0);
    const url = out.stdout.trim();
    expect(url).toMatch(new RegExp(`^rtmp://127\\.0\\.0\\.1:${t.rtmpPort}/live/cam\\?expires=\\d+&token=`));
    const expires = Number(new URL(url).searchParams.get('expires'));
    expect(expires).toBeGreaterThan(nowS() + 30);
    expect(expires).toBeLessThanOrEqual(nowS() + 61);
    await publish(url);
    await t.waitLive('live', 'cam');
    const flv = await fetch(t.httpUrl(`live/cam.flv${new URL(url).search}`));
    expect(flv.status).toBe(200);
    expect((await firstBytes(flv, 3)).subarray(0, 3).toString('latin1')).toBe('FLV');

    const wrong = await sign([
      'live/cam',
      '--secret',
      'y'.repeat(32),
      '--base-url',
      `rtmp://127.0.0.1:${t.rtmpPort}`,
    ]);
    expect(wrong.code).toBe(0);
    const other = await fetch(t.httpUrl(`live/cam.flv${new URL(wrong.stdout.trim()).search}`));
    expect(other.status).toBe(403);
    await other.body?.cancel();
  });
});
