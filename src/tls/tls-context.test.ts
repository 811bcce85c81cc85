import { mkdtempSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, createServer, type Server, type TLSSocket } from 'node:tls';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { hasOpenssl, makeMismatchedKey, makeTestCert, type TestCert } from '../../test/helpers/tls-cert.js';
import { until } from '../../test/helpers/wait.js';
import { ReloadableTlsContext, type TlsLogLevel } from './tls-context.js';
import { loadTlsMaterial, TlsConfigError } from './tls-material.js';

interface LogLine {
  level: TlsLogLevel;
  obj: Record<string, unknown>;
  msg: string;
}

const fingerprint = (c: TestCert): string => loadTlsMaterial(c).fingerprint256;

/** A TLS client that records what it reads. */
interface Client {
  socket: TLSSocket;
  received: () => string;
  closed: () => boolean;
}

function tlsClient(port: number, opts: { servername?: string; ca?: string } = {}): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: '127.0.0.1',
      port,
      servername: opts.servername,
      ca: opts.ca,
      rejectUnauthorized: opts.ca !== undefined,
    });
    let data = '';
    let closed = false;
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      data += d;
    });
    socket.on('close', () => {
      closed = true;
    });
    socket.once('error', reject);
    socket.once('secureConnect', () => resolve({ socket, received: () => data, closed: () => closed }));
  });
}

async function echo(client: Client, msg: string): Promise<void> {
  client.socket.write(msg);
  await until(() => client.received().includes(msg), 5000, `echo of ${msg}`);
}

describe.skipIf(!hasOpenssl())('ReloadableTlsContext', () => {
  let dir: string;
  let certFile: string;
  let keyFile: string;
  let logs: LogLine[];
  let ctx: ReloadableTlsContext | undefined;
  let server: Server | undefined;
  const clients: Client[] = [];
  const onLog = (level: TlsLogLevel, obj: Record<string, unknown>, msg: string): void => {
    logs.push({ level, obj, msg });
  };
  /** writes a certificate and key over the watched files in place */
  const install = (c: TestCert): void => {
    writeFileSync(keyFile, c.keyPem);
    writeFileSync(certFile, c.certPem);
  };
  /** replaces the watched files the way editors and deploy tools do: write aside, rename over */
  const installByRename = (c: TestCert): void => {
    writeFileSync(`${keyFile}.tmp`, c.keyPem);
    renameSync(`${keyFile}.tmp`, keyFile);
    writeFileSync(`${certFile}.tmp`, c.certPem);
    renameSync(`${certFile}.tmp`, certFile);
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'tidecast-tls-'));
    certFile = join(dir, 'server.crt');
    keyFile = join(dir, 'server.key');
    logs = [];
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.socket.destroy();
    ctx?.close();
    ctx = undefined;
    if (server) {
      const s = server;
      server = undefined;
      await new Promise<void>((r) => s.close(() => r()));
    }
    rmSync(dir, { recursive: true, force: true });
  });

  /** An echo server on 127.0.0.1:0 wired as the module docs say: serverOptions() + attach(). */
  async function startServer(c: ReloadableTlsContext): Promise<{ port: number; sniCalls: () => number }> {
    let sniCalls = 0;
    const opts = c.serverOptions();
    const s = createServer(
      {
        ...opts,
        SNICallback: (name, cb) => {
          sniCalls++;
          opts.SNICallback(name, cb);
        },
      },
      (socket) => {
        socket.on('error', () => {});
        socket.on('data', (d) => socket.write(d));
      },
    );
    c.attach(s);
    server = s;
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return { port: (s.address() as AddressInfo).port, sniCalls: () => sniCalls };
  }

  async function client(port: number, opts: { servername?: string; ca?: string } = {}): Promise<Client> {
    const c = await tlsClient(port, opts);
    clients.push(c);
    return c;
  }

  it('refuses to start on bad files, with the TLS error', () => {
    const good = makeTestCert(dir);
    const other = makeMismatchedKey(dir);
    const bad = new ReloadableTlsContext(
      { certFile: good.certFile, keyFile: other.keyFile },
      { watch: true },
    );
    expect(() => bad.start()).toThrow(TlsConfigError);
    expect(() => bad.start()).toThrow(/TLS_KEY_MISMATCH/);
    expect(() => bad.current()).toThrow(/not started/);
    bad.close();
    const missing = new ReloadableTlsContext({ certFile: join(dir, 'none.crt'), keyFile: good.keyFile });
    expect(() => missing.start()).toThrow(/TLS_FILE_MISSING: certFile .*none\.crt does not exist/);
  });

  it('reload() installs new files, ignores unchanged ones, and keeps the old certificate on bad ones', () => {
    const a = makeTestCert(dir);
    const b = makeTestCert(dir);
    install(a);
    ctx = new ReloadableTlsContext({ certFile, keyFile }, { onLog });
    const info = ctx.start();
    expect(info.fingerprint256).toBe(fingerprint(a));
    expect(logs.some((l) => l.level === 'info' && l.msg === 'tls certificate loaded')).toBe(true);
    const first = ctx.current();
    let reloads = 0;
    ctx.onReload(() => reloads++);

    expect(ctx.reload()).toBe(true);
    expect(ctx.current()).toBe(first);
    expect(reloads).toBe(0);

    install(b);
    expect(ctx.reload()).toBe(true);
    expect(ctx.info().fingerprint256).toBe(fingerprint(b));
    expect(ctx.current()).not.toBe(first);
    expect(ctx.secureContextOptions().cert.toString()).toBe(`${b.certPem.trim()}\n`);
    expect(ctx.secureContextOptions().key.toString()).toBe(b.keyPem);
    expect(reloads).toBe(1);
    const second = ctx.current();

    writeFileSync(certFile, 'garbage');
    expect(ctx.reload()).toBe(false);
    expect(ctx.current()).toBe(second);
    expect(ctx.info().fingerprint256).toBe(fingerprint(b));
    const failed = logs.find((l) => l.level === 'error');
    expect(failed?.obj).toMatchObject({ code: 'TLS_BAD_CERT', file: certFile, current: fingerprint(b) });

    writeFileSync(certFile, a.certPem); // b's key with a's certificate
    expect(ctx.reload()).toBe(false);
    expect(logs.at(-1)?.obj.code).toBe('TLS_KEY_MISMATCH');
    expect(ctx.info().fingerprint256).toBe(fingerprint(b));
    expect(reloads).toBe(1);
  });

  it('passes contextOptions to every context and to setSecureContext()', () => {
    const a = makeTestCert(dir);
    ctx = new ReloadableTlsContext(a, { contextOptions: { minVersion: 'TLSv1.3' } });
    ctx.start();
    expect(ctx.secureContextOptions()).toMatchObject({ minVersion: 'TLSv1.3' });
    expect(ctx.serverOptions().SNICallback).toBe(ctx.sniCallback);
  });

  it('on change, open sessions go on; new handshakes (SNI or not) get the new certificate', async () => {
    const a = makeTestCert(dir);
    const b = makeTestCert(dir);
    install(a);
    ctx = new ReloadableTlsContext({ certFile, keyFile }, { onLog, watch: true, debounceMs: 50 });
    ctx.start();
    const { port, sniCalls } = await startServer(ctx);

    const plain = await client(port); // by IP: no SNI, the server's default context
    const named = await client(port, { servername: 'localhost', ca: a.certPem }); // SNI, verified against a
    expect(sniCalls()).toBe(1);
    expect(named.socket.authorized).toBe(true);
    for (const c of [plain, named]) expect(c.socket.getPeerCertificate().fingerprint256).toBe(fingerprint(a));
    await echo(plain, 'before-1;');
    await echo(named, 'before-2;');

    install(b);
    await until(() => ctx?.info().fingerprint256 === fingerprint(b), 5000, 'reload to certificate b');
    expect(logs.some((l) => l.msg === 'tls certificate reloaded' && l.obj.previous === fingerprint(a))).toBe(
      true,
    );

    // the sessions made before the reload are still up and still talking
    await echo(plain, 'after-1;');
    await echo(named, 'after-2;');
    expect(plain.closed() || named.closed()).toBe(false);
    expect(plain.socket.getPeerCertificate().fingerprint256).toBe(fingerprint(a));

    const plain2 = await client(port);
    expect(plain2.socket.getPeerCertificate().fingerprint256).toBe(fingerprint(b));
    const named2 = await client(port, { servername: 'localhost', ca: b.certPem });
    expect(named2.socket.authorized).toBe(true);
    expect(named2.socket.getPeerCertificate().fingerprint256).toBe(fingerprint(b));
    expect(sniCalls()).toBe(2);
    await echo(plain2, 'new-1;');
    await echo(named2, 'new-2;');
  });

  it('keeps the old certificate when a changed file is bad', async () => {
    const a = makeTestCert(dir);
    install(a);
    ctx = new ReloadableTlsContext({ certFile, keyFile }, { onLog, watch: true, debounceMs: 50 });
    ctx.start();
    const { port } = await startServer(ctx);
    const before = await client(port);

    writeFileSync(certFile, 'not a certificate');
    await until(
      () => logs.some((l) => l.level === 'error' && l.obj.code === 'TLS_BAD_CERT'),
      5000,
      'failed reload',
    );
    writeFileSync(keyFile, makeMismatchedKey(dir).keyPem);
    writeFileSync(certFile, a.certPem);
    await until(() => logs.some((l) => l.obj.code === 'TLS_KEY_MISMATCH'), 5000, 'mismatch reported');

    expect(ctx.info().fingerprint256).toBe(fingerprint(a));
    const after = await client(port);
    expect(after.socket.getPeerCertificate().fingerprint256).toBe(fingerprint(a));
    await echo(before, 'still-here;');
    await echo(after, 'new-session;');
  });

  it('follows files replaced by rename, again and again, and files that vanish and come back', async () => {
    const [a, b, c, d] = [makeTestCert(dir), makeTestCert(dir), makeTestCert(dir), makeTestCert(dir)];
    install(a);
    ctx = new ReloadableTlsContext({ certFile, keyFile }, { onLog, watch: true, debounceMs: 50 });
    ctx.start();
    const { port } = await startServer(ctx);

    installByRename(b);
    await until(() => ctx?.info().fingerprint256 === fingerprint(b), 5000, 'reload to b (first rename)');
    installByRename(c);
    await until(() => ctx?.info().fingerprint256 === fingerprint(c), 5000, 'reload to c (second rename)');

    unlinkSync(certFile);
    await until(() => logs.some((l) => l.obj.code === 'TLS_FILE_MISSING'), 5000, 'missing file reported');
    expect(ctx.info().fingerprint256).toBe(fingerprint(c));
    install(d);
    await until(() => ctx?.info().fingerprint256 === fingerprint(d), 5000, 'reload to d (file back)');

    const fresh = await client(port);
    expect(fresh.socket.getPeerCertificate().fingerprint256).toBe(fingerprint(d));
  });

  it('stops watching on close()', async () => {
    const a = makeTestCert(dir);
    const b = makeTestCert(dir);
    install(a);
    ctx = new ReloadableTlsContext({ certFile, keyFile }, { onLog, watch: true, debounceMs: 20 });
    ctx.start();
    ctx.close();
    install(b);
    await new Promise((r) => setTimeout(r, 300));
    expect(ctx.info().fingerprint256).toBe(fingerprint(a));
    expect(ctx.current()).toBeDefined();
  });
});
