import { type ChildProcess, spawn } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { mergeConfig, validateConfig } from '../../src/config/load.js';
import { TidecastServer } from '../../src/server.js';
import { TlsConfigError } from '../../src/tls/tls-material.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { hasOpenssl, makeMismatchedKey, makeTestCert, type TestCert } from '../helpers/tls-cert.js';
import { ffmpegPublish, hasTool, media, run, stop } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

/**
 * RTMPS and HTTPS/WSS with real clients: ffmpeg publishes over rtmps://, ffprobe reads HLS over https://,
 * a WSS client plays WS-FLV; the certificate is replaced while a publisher stays connected; bad TLS config refuses
 * start-up (in-process and through the CLI).
 */

const tools = hasTool('ffmpeg') && hasTool('ffprobe') && hasOpenssl();
if (!tools) {
  console.warn(
    '\n*** test/interop/tls.test.ts is SKIPPED: it needs ffmpeg, ffprobe and openssl on PATH (.ci/run installs them). ***\n',
  );
}

const fingerprintOf = (pem: string) => new X509Certificate(pem).fingerprint256;

/** The certificate a fresh TLS handshake to 127.0.0.1:port gets (no SNI: we connect by IP). */
function peerFingerprint(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false }, () => {
      const fp = s.getPeerCertificate().fingerprint256;
      s.destroy();
      resolve(fp);
    });
    s.on('error', reject);
  });
}

/** GET over HTTPS trusting only `ca`. */
function httpsGet(url: string, ca: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    https
      .get(url, { ca, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', reject);
  });
}

interface WssPlayer {
  ws: WebSocket;
  frames: Buffer[];
  error?: Error;
  closed: boolean;
}

/** A WSS WS-FLV player trusting `ca`. */
function wssPlayer(url: string, ca: string): WssPlayer {
  const p: WssPlayer = { ws: new WebSocket(url, { ca }), frames: [], closed: false };
  p.ws.on('message', (data, isBinary) => {
    if (isBinary) p.frames.push(Buffer.from(data as Buffer));
  });
  p.ws.on('error', (err) => {
    p.error = err;
  });
  p.ws.on('close', () => {
    p.closed = true;
  });
  return p;
}

/** The CLI as a child process, without the developer's TIDECAST_* settings; resolves when it exits. */
function runCli(
  env: Record<string, string>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('TIDECAST_') && k !== 'NODE_OPTIONS') clean[k] = v;
  }
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      env: {
        ...clean,
        TIDECAST_HOST: '127.0.0.1',
        TIDECAST_RTMP_PORT: '0',
        TIDECAST_HTTP_PORT: '0',
        TIDECAST_RTMPS_PORT: '0',
        TIDECAST_HTTPS_PORT: '0',
        TIDECAST_API_ENABLED: 'false',
        TIDECAST_METRICS_ENABLED: 'false',
        ...env,
      },
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
    // a server that did start would run forever: stop it (the test then fails on the exit code)
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe.skipIf(!tools)('RTMPS and HTTPS/WSS with ffmpeg, ffprobe and ws', () => {
  let dir: string;
  let cert: TestCert;
  let t: TestServer;
  let pub: ChildProcess;
  let rtmpsPort: number;
  let httpsPort: number;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tidecast-tls-'));
    cert = makeTestCert(dir, { name: 'server' });
    t = await startTestServer({
      rtmps: { enabled: true, port: 0 },
      https: { enabled: true, port: 0 },
      // watch off: the reload below must come from reload() (SIGHUP), not from the file watcher
      tls: { certFile: cert.certFile, keyFile: cert.keyFile, watch: false },
      hls: { targetDuration: 1 },
    });
    rtmpsPort = t.server.ports.rtmps!;
    httpsPort = t.server.ports.https!;
    pub = ffmpegPublish(`rtmps://127.0.0.1:${rtmpsPort}/live/tls`, media('h264-aac-360p.flv'));
  });
  afterAll(async () => {
    if (pub) await stop(pub);
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('listens on its own RTMPS and HTTPS ports, besides plain RTMP and HTTP', () => {
    expect(rtmpsPort).toBeGreaterThan(0);
    expect(httpsPort).toBeGreaterThan(0);
    expect(new Set([rtmpsPort, httpsPort, t.rtmpPort, t.httpPort]).size).toBe(4);
  });

  it('ffmpeg publishes over rtmps://', async () => {
    await t.waitLive('live', 'tls', 20_000);
    expect(t.server.registry.get('live', 'tls')?.publisher?.protocol).toBe('rtmps');
    expect(pub.exitCode).toBeNull();
  });

  it('ffprobe reads the HLS playlist over https:// and finds H.264 (certificate verified against the test CA)', async () => {
    const url = `https://127.0.0.1:${httpsPort}/live/tls/index.m3u8`;
    await t.waitLive('live', 'tls', 20_000);
    // one request at a time (each is a new TLS connection: stay well under the per-IP connection rate)
    let text = '';
    const end = Date.now() + 30_000;
    while ((text.match(/#EXTINF/g)?.length ?? 0) < 2) {
      if (Date.now() > end) throw new Error(`no 2 segments in the HTTPS playlist: ${text}`);
      await new Promise((r) => setTimeout(r, 200));
      const r = await httpsGet(url, cert.certPem).catch(() => undefined);
      if (r?.status === 200) text = r.body;
    }
    expect(text.startsWith('#EXTM3U')).toBe(true);
    const r = await run(
      'ffprobe',
      [
        '-v',
        'error',
        '-tls_verify',
        '1',
        '-ca_file',
        cert.certFile,
        '-show_entries',
        'stream=codec_type,codec_name',
        '-of',
        'json',
        url,
      ],
      30_000,
    );
    expect(r.code, r.stderr).toBe(0);
    const streams = (JSON.parse(r.stdout) as { streams: Array<{ codec_name: string; codec_type: string }> })
      .streams;
    expect(streams).toEqual(expect.arrayContaining([expect.objectContaining({ codec_name: 'h264' })]));
    // and plain https without trusting the test CA is refused by ffprobe's verification
    const untrusted = await run('ffprobe', ['-v', 'error', '-tls_verify', '1', url], 30_000);
    expect(untrusted.code).not.toBe(0);
  });

  it('a WSS client (trusting the test certificate) gets FLV in binary frames', async () => {
    await t.waitLive('live', 'tls', 20_000);
    const p = wssPlayer(`wss://127.0.0.1:${httpsPort}/live/tls.flv`, cert.certPem);
    try {
      await until(() => p.frames.length >= 10 || p.error !== undefined, 15_000, 'WSS frames');
      expect(p.error).toBeUndefined();
      expect(p.frames[0].subarray(0, 3).toString('latin1')).toBe('FLV');
      expect(p.frames.slice(1).some((f) => f[0] === 9)).toBe(true);
    } finally {
      p.ws.terminate();
    }
  });

  it('reload() serves a replaced certificate to new handshakes; the RTMPS publisher and a WSS player stay', async () => {
    await t.waitLive('live', 'tls', 20_000);
    const oldFp = fingerprintOf(cert.certPem);
    expect(await peerFingerprint(rtmpsPort)).toBe(oldFp);
    expect(await peerFingerprint(httpsPort)).toBe(oldFp);
    const player = wssPlayer(`wss://127.0.0.1:${httpsPort}/live/tls.flv`, cert.certPem);
    try {
      await until(() => player.frames.length >= 5, 15_000, 'WSS frames before the reload');

      const fresh = makeTestCert(dir, { name: 'server', cn: 'reloaded.test' });
      expect(fresh.certFile).toBe(cert.certFile);
      const newFp = fingerprintOf(fresh.certPem);
      expect(newFp).not.toBe(oldFp);
      // not picked up on its own (watch is off)...
      expect(await peerFingerprint(httpsPort)).toBe(oldFp);
      // ...but on reload (SIGHUP)
      t.server.reload();
      expect(await peerFingerprint(rtmpsPort)).toBe(newFp);
      expect(await peerFingerprint(httpsPort)).toBe(newFp);
      expect(t.logs.some((l) => l.msg === 'tls certificate reloaded')).toBe(true);

      // the publisher that shook hands with the old certificate keeps publishing
      const stream = t.server.registry.get('live', 'tls')!;
      const frames = stream.framesIn;
      const playerFrames = player.frames.length;
      await until(() => stream.framesIn >= frames + 50, 15_000, 'frames after the reload');
      expect(t.server.registry.get('live', 'tls')?.live).toBe(true);
      expect(t.server.registry.get('live', 'tls')).toBe(stream);
      expect(pub.exitCode).toBeNull();
      // and the WSS player that shook hands before the reload keeps playing
      await until(() => player.frames.length >= playerFrames + 20, 15_000, 'WSS frames after the reload');
      expect(player.closed).toBe(false);
      cert = fresh;
    } finally {
      player.ws.terminate();
    }
  });

  it('a reload with a broken key keeps the current certificate', async () => {
    const current = fingerprintOf(cert.certPem);
    const { keyFile } = makeMismatchedKey(dir, 'broken');
    // the key file now holds a key that is not the certificate's
    const goodKey = `${cert.keyFile}.good`;
    copyFileSync(cert.keyFile, goodKey);
    copyFileSync(keyFile, cert.keyFile);
    try {
      t.server.reload();
      expect(await peerFingerprint(httpsPort)).toBe(current);
      expect(await peerFingerprint(rtmpsPort)).toBe(current);
      expect(t.logs.some((l) => l.msg === 'tls reload failed; keeping the current certificate')).toBe(true);
    } finally {
      copyFileSync(goodKey, cert.keyFile);
    }
  });
});

describe.skipIf(!tools)('TLS certificate files watched (tls.watch)', () => {
  it('replacing the files is picked up without a reload call', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tidecast-tlsw-'));
    const cert = makeTestCert(dir, { name: 'w' });
    const t = await startTestServer({
      rtmp: { enabled: false },
      hls: { enabled: false },
      https: { enabled: true, port: 0 },
      tls: { certFile: cert.certFile, keyFile: cert.keyFile, watch: true },
    });
    try {
      const port = t.server.ports.https!;
      expect(await peerFingerprint(port)).toBe(fingerprintOf(cert.certPem));
      const fresh = makeTestCert(dir, { name: 'w', cn: 'watched.test' });
      // one handshake at a time, a few per second (well under the per-IP connection rate limit)
      const want = fingerprintOf(fresh.certPem);
      const end = Date.now() + 10_000;
      let fp = '';
      while (fp !== want && Date.now() < end) {
        await new Promise((r) => setTimeout(r, 150));
        fp = await peerFingerprint(port).catch(() => '');
      }
      expect(fp, 'the watched certificate is served').toBe(want);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!hasOpenssl())('bad TLS configuration refuses start-up', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'tidecast-tlsbad-'));
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('a key that is not the certificate key: start() rejects with TLS_KEY_MISMATCH, nothing listens', async () => {
    const cert = makeTestCert(dir, { name: 'mm' });
    const { keyFile } = makeMismatchedKey(dir);
    const config = validateConfig(
      mergeConfig({
        host: '127.0.0.1',
        rtmp: { port: 0 },
        http: { port: 0 },
        rtmps: { enabled: true, port: 0 },
        https: { enabled: true, port: 0 },
        tls: { certFile: cert.certFile, keyFile },
        api: { token: 'tls-test-api-token-0123456789' },
      }),
    );
    const server = new TidecastServer(config, pino({ level: 'silent' }));
    const err = await server.start().then(
      () => undefined,
      (e: unknown) => e,
    );
    try {
      expect(err).toBeInstanceOf(TlsConfigError);
      expect(err).toMatchObject({ code: 'TLS_KEY_MISMATCH', file: keyFile });
      expect((err as Error).message).toContain(keyFile);
      expect(server.ports).toEqual({});
    } finally {
      await server.close();
    }
  });

  it('the CLI with a missing certificate file exits non-zero, naming the file', async () => {
    const cert = makeTestCert(dir, { name: 'cli' });
    const missing = join(dir, 'no-such.crt');
    const r = await runCli({
      TIDECAST_RTMPS_ENABLED: 'true',
      TIDECAST_TLS_CERT_FILE: missing,
      TIDECAST_TLS_KEY_FILE: cert.keyFile,
    });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toContain('TLS_FILE_MISSING');
    expect(r.stderr).toContain(missing);
    expect(r.stderr).toMatch(/does not exist/);
    expect(r.stdout).not.toContain('Tidecast is running');
  });

  it('the CLI with RTMPS on but no certificate configured exits non-zero, saying what is needed', async () => {
    const r = await runCli({ TIDECAST_HTTPS_ENABLED: 'true' });
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    expect(r.stderr).toMatch(/tls\.certFile/);
    expect(r.stdout).not.toContain('Tidecast is running');
  });
});

describe.skipIf(!tools)('signed URLs over RTMPS and HTTPS (ffmpeg, ffprobe)', () => {
  const secret = 'rtmps-signing-secret-0123456789';
  let dir: string;
  let t: TestServer;
  const pubs: ChildProcess[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tidecast-tls-signed-'));
    const cert = makeTestCert(dir, { name: 'server' });
    t = await startTestServer({
      rtmps: { enabled: true, port: 0 },
      https: { enabled: true, port: 0 },
      tls: { certFile: cert.certFile, keyFile: cert.keyFile, watch: false },
      access: { secrets: [secret] },
      apps: { live: { publish: 'signed', play: 'signed' } },
      hls: { targetDuration: 1 },
    });
  });
  afterAll(async () => {
    for (const p of pubs) await stop(p);
    await t?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const signedQuery = async (path: string, expiresIn = 300) => {
    const { signUrl } = await import('../../src/access/signed-url.js');
    const u = signUrl({ secret, path, expires: Math.floor(Date.now() / 1000) + expiresIn });
    return u.slice(u.indexOf('?'));
  };

  it('ffmpeg publishes over rtmps:// with a signed URL; a tampered or expired one is refused and counted', async () => {
    const port = t.server.ports.rtmps!;
    const good = await signedQuery('/live/sig');
    const tampered = good.replace(/token=(.)/, (_m, c: string) => `token=${c === 'A' ? 'B' : 'A'}`);
    const expired = await signedQuery('/live/sig2', -10);
    const bad = ffmpegPublish(`rtmps://127.0.0.1:${port}/live/sig${tampered}`, media('h264-aac-360p.flv'));
    const old = ffmpegPublish(`rtmps://127.0.0.1:${port}/live/sig2${expired}`, media('h264-aac-360p.flv'));
    pubs.push(bad, old);
    await until(() => bad.exitCode !== null && old.exitCode !== null, 20_000, 'refused publishers exit');
    expect(bad.exitCode).not.toBe(0);
    expect(t.server.counters.get('publish_rejected', 'bad-signature')).toBeGreaterThanOrEqual(1);
    expect(t.server.counters.get('publish_rejected', 'expired-signature')).toBeGreaterThanOrEqual(1);
    const ok = ffmpegPublish(`rtmps://127.0.0.1:${port}/live/sig${good}`, media('h264-aac-360p.flv'));
    pubs.push(ok);
    await t.waitLive('live', 'sig', 20_000);
    expect(t.server.registry.get('live', 'sig')?.publisher?.protocol).toBe('rtmps');
  });

  it('ffprobe plays HLS over https:// only with a signed URL', async () => {
    const base = `https://127.0.0.1:${t.server.ports.https}/live/sig/index.m3u8`;
    const probe = (url: string) =>
      run(
        'ffprobe',
        ['-v', 'error', '-tls_verify', '0', '-show_entries', 'stream=codec_name', '-of', 'csv=p=0', url],
        30_000,
      );
    const denied = await probe(base);
    expect(denied.code).not.toBe(0);
    let r = await probe(`${base}${await signedQuery('/live/sig')}`);
    for (let i = 0; i < 5 && !r.stdout.includes('h264'); i++) {
      await new Promise((res) => setTimeout(res, 1000));
      r = await probe(`${base}${await signedQuery('/live/sig')}`);
    }
    expect(r.stdout).toContain('h264');
  });
});
