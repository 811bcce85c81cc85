import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseRtmpUrl, RtmpClient } from '../../src/servers/rtmp/rtmp-client.js';
import { RawRtmp, waitFor, within } from '../helpers/raw-rtmp.js';
import { ffmpegPublish, hasTool, media, run, stop } from '../helpers/tools.js';

/** The real CLI, as a child process: `node --import tsx src/main.ts ...`. */
interface Cli {
  child: ChildProcess;
  out: { stdout: string; stderr: string };
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children: ChildProcess[] = [];
const clients: RtmpClient[] = [];

/** process.env without any TIDECAST_* setting of the developer's shell, plus `env`. */
function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('TIDECAST_') && k !== 'NODE_OPTIONS') out[k] = v;
  }
  // a fixed API token: the CLI would otherwise generate one into the checkout's .tidecast/
  return { ...out, TIDECAST_API_TOKEN: 'cli-test-token-0123456789abcdef', ...env };
}

function spawnCli(args: string[], env: Record<string, string> = {}): Cli {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts', ...args], {
    env: cleanEnv(env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const out = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d) => {
    out.stdout += d;
  });
  child.stderr!.on('data', (d) => {
    out.stderr += d;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) =>
    child.once('close', (code, signal) => r({ code, signal })),
  );
  return { child, out, exited };
}

interface Started {
  rtmpPort: number;
  httpPort: number;
  app: string;
}

/** Waits for the start-up banner and reads the actual ports and the first app from its URLs. */
async function banner(cli: Cli, timeoutMs = 20_000): Promise<Started> {
  let exitedEarly = false;
  void cli.exited.then(() => {
    exitedEarly = true;
  });
  await waitFor(
    () => /Play HTTP-FLV:.*\n/.test(cli.out.stdout) || exitedEarly,
    timeoutMs,
    `"Tidecast is running" banner (stdout: ${cli.out.stdout.slice(0, 300)} stderr: ${cli.out.stderr.slice(0, 300)})`,
  );
  expect(exitedEarly, `the CLI exited: ${cli.out.stderr}`).toBe(false);
  expect(cli.out.stdout).toContain('Tidecast is running');
  const rtmp = /Publish \(OBS\/ffmpeg\):\s+rtmp:\/\/127\.0\.0\.1:(\d+)\/([^/\s]+)\/<stream-key>/.exec(
    cli.out.stdout,
  );
  const http = /Play HTTP-FLV:\s+http:\/\/127\.0\.0\.1:(\d+)\//.exec(cli.out.stdout);
  expect(rtmp, cli.out.stdout).not.toBeNull();
  expect(http, cli.out.stdout).not.toBeNull();
  return { rtmpPort: Number(rtmp![1]), httpPort: Number(http![1]), app: rtmp![2] };
}

/** A port that was free a moment ago. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const addr = s.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Viewer {
  client: RtmpClient;
  statuses: string[];
  video: number;
  closed: boolean;
}

/** One of our RTMP players on `url`, counting video messages. */
async function viewer(url: string): Promise<Viewer> {
  const v: Viewer = { statuses: [], video: 0, closed: false } as unknown as Viewer;
  v.client = new RtmpClient(parseRtmpUrl(url), {
    onMedia: (m) => {
      if (m.type === 9) v.video++;
    },
    onStatus: (i) => v.statuses.push(String(i.code)),
    onClose: () => {
      v.closed = true;
    },
  });
  clients.push(v.client);
  await within(v.client.connectApp(), 5000, `connect ${url}`);
  void v.client.play().catch(() => {});
  return v;
}

function tempFile(name: string, text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'tidecast-cli-')), name);
  writeFileSync(file, text);
  return file;
}

const LOCAL = ['--host', '127.0.0.1'];

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await Promise.all(children.splice(0).map((c) => stop(c, 'SIGKILL')));
});

afterAll(async () => {
  await Promise.all(children.map((c) => stop(c, 'SIGKILL')));
});

describe.skipIf(!hasTool('ffmpeg'))('CLI: the real process', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`serves on ports chosen by the OS, then exits 0 within 5 s on ${signal}, players told`, async () => {
      const cli = spawnCli([...LOCAL, '--rtmp-port', '0', '--http-port', '0']);
      const { rtmpPort, httpPort, app } = await banner(cli);
      expect(app).toBe('live');
      expect(rtmpPort).toBeGreaterThan(0);
      expect(httpPort).toBeGreaterThan(0);
      expect(rtmpPort).not.toBe(httpPort);

      const url = `rtmp://127.0.0.1:${rtmpPort}/live/cli`;
      const pub = ffmpegPublish(url, media('h264-aac-360p.flv'));
      children.push(pub);
      const v = await viewer(url);
      await waitFor(() => v.video >= 5 || v.closed, 15_000, 'video through the CLI server');
      expect(v.statuses).toContain('NetStream.Play.Start');
      expect(v.video).toBeGreaterThanOrEqual(5);
      const h = await fetch(`http://127.0.0.1:${httpPort}/healthz`, { signal: AbortSignal.timeout(3000) });
      expect(h.status).toBe(200);
      // more peers that shutdown must not wait for: an HTTP-FLV and a WebSocket-FLV viewer, a peer stuck
      // half-way through the handshake, and a connected RTMP player that stopped reading
      const flv = await fetch(`http://127.0.0.1:${httpPort}/live/cli.flv`, {
        signal: AbortSignal.timeout(10_000),
      });
      expect(flv.status).toBe(200);
      const ws = new WebSocket(`ws://127.0.0.1:${httpPort}/live/cli.flv`);
      ws.on('error', () => {});
      await within(new Promise((r) => ws.once('message', r)), 5000, 'first WS-FLV message');
      const stuck = await RawRtmp.open(rtmpPort);
      stuck.write(Buffer.from([3, 0, 0, 0]));
      const deaf = await RawRtmp.open(rtmpPort);
      await deaf.handshake();
      expect((await deaf.connectApp('live')).name).toBe('_result');
      deaf.sendCommand(['createStream', 2, null]);
      const sid = Number((await deaf.waitCommand((x) => x.txn === 2)).values[1]);
      deaf.sendCommand(['play', 0, null, 'cli', -1000], sid);
      await deaf.waitCommand((x) => x.name === 'onStatus');
      deaf.socket.pause();

      const t0 = Date.now();
      cli.child.kill(signal);
      const exit = await within(cli.exited, 5000, `the CLI exiting after ${signal}`);
      expect(exit, cli.out.stderr).toEqual({ code: 0, signal: null });
      expect(Date.now() - t0).toBeLessThan(5000);
      await waitFor(
        () => v.closed && v.statuses.includes('NetStream.Play.UnpublishNotify'),
        2000,
        'the player told or disconnected',
      );
      expect(await stuck.waitClosed(2000)).toBe(true);
      expect(
        await within(
          new Promise((r) => (ws.readyState === WebSocket.CLOSED ? r(0) : ws.once('close', r))),
          2000,
          'ws closed',
        ),
      ).toBeDefined();
      stuck.destroy();
      deaf.destroy();
      flv.body?.cancel().catch(() => {});
      expect(cli.out.stdout).toContain(`"signal":"${signal}"`);
      expect(cli.out.stdout).toContain('"msg":"bye"');
      // the publisher was dropped with the server: ffmpeg ends on its own
      await within(
        new Promise((r) => (pub.exitCode !== null ? r(0) : pub.once('close', r))),
        5000,
        'ffmpeg ended',
      );
    });
  }

  it('a config file with a wrong key or a wrong value: exits non-zero at once, naming the key path', async () => {
    const cases: Array<{ file: string; expect: RegExp }> = [
      { file: tempFile('wrong-key.yaml', 'rtmp:\n  prot: 1935\n'), expect: /rtmp\.prot/ },
      { file: tempFile('wrong-value.yaml', 'rtmp:\n  port: "abc"\n'), expect: /rtmp\.port/ },
      { file: tempFile('wrong-key.json', '{ "rtmp": { "prot": 1935 } }'), expect: /rtmp\.prot/ },
      { file: tempFile('wrong-nested.yaml', 'apps:\n  tv:\n    publsh: open\n'), expect: /apps\.tv\.publsh/ },
      { file: tempFile('wrong-top.yaml', 'rtmpp:\n  port: 1935\n'), expect: /rtmpp/ },
    ];
    const t0 = Date.now();
    const results = await Promise.all(
      cases.map((c) =>
        run(process.execPath, ['--import', 'tsx', 'src/main.ts', '--config', c.file, ...LOCAL], 15_000),
      ),
    );
    for (const [i, r] of results.entries()) {
      expect(r.code, `${cases[i].file}: ${r.stderr}`).not.toBe(0);
      expect(r.code).not.toBeNull(); // exited by itself, not killed by the timeout
      expect(r.stderr).toMatch(cases[i].expect);
      expect(r.stderr).toContain('CONFIG_INVALID');
      expect(r.stdout).not.toContain('Tidecast is running');
    }
    expect(Date.now() - t0).toBeLessThan(12_000);
  });

  it('a wrong environment value or a wrong port option: exits non-zero, naming the variable / option', async () => {
    const env = spawnCli([...LOCAL, '--http-port', '0'], { TIDECAST_RTMP_PORT: 'abc' });
    const opt = spawnCli([...LOCAL, '--rtmp-port', '99999', '--http-port', '0']);
    const missing = spawnCli([...LOCAL, '--config', '/nonexistent/tidecast.yaml']);
    const [e, o, m] = await within(
      Promise.all([env.exited, opt.exited, missing.exited]),
      15_000,
      'CLI exits',
    );
    expect(e.code, env.out.stderr).not.toBe(0);
    expect(env.out.stderr).toContain('TIDECAST_RTMP_PORT');
    expect(o.code, opt.out.stderr).not.toBe(0);
    expect(opt.out.stderr).toMatch(/--rtmp-port/);
    expect(m.code, missing.out.stderr).not.toBe(0);
    expect(missing.out.stderr).toContain('/nonexistent/tidecast.yaml');
  });

  it('a port already in use: exits 1 quickly, saying why', async () => {
    const busy = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const addr = busy.address();
    const port = typeof addr === 'object' && addr ? addr.port : 0;
    try {
      const cli = spawnCli([...LOCAL, '--rtmp-port', String(port), '--http-port', '0']);
      const exit = await within(cli.exited, 10_000, 'the CLI exiting');
      expect(exit.code, cli.out.stderr).toBe(1);
      expect(cli.out.stdout).not.toContain('Tidecast is running');
      expect(`${cli.out.stdout}${cli.out.stderr}`).toMatch(/start-up failed/);
      expect(`${cli.out.stdout}${cli.out.stderr}`).toMatch(/EADDRINUSE/);
    } finally {
      await new Promise<void>((r) => busy.close(() => r()));
    }
  });

  it('TIDECAST_RTMP_PORT and TIDECAST_HTTP_PORT are honoured; a command-line port wins over the environment', async () => {
    const [rtmpPort, httpPort, cliPort] = [await freePort(), await freePort(), await freePort()];
    const cli = spawnCli(LOCAL, {
      TIDECAST_RTMP_PORT: String(rtmpPort),
      TIDECAST_HTTP_PORT: String(httpPort),
    });
    const s = await banner(cli);
    expect(s.rtmpPort).toBe(rtmpPort);
    expect(s.httpPort).toBe(httpPort);
    // the port really is RTMP: an RTMP connect succeeds
    const c = new RtmpClient(parseRtmpUrl(`rtmp://127.0.0.1:${rtmpPort}/live/x`));
    clients.push(c);
    const info = await within(c.connectApp(), 5000, 'RTMP connect on the env port');
    expect(info.code).toBe('NetConnection.Connect.Success');
    const h = await fetch(`http://127.0.0.1:${httpPort}/healthz`, { signal: AbortSignal.timeout(3000) });
    expect(h.status).toBe(200);

    const other = spawnCli([...LOCAL, '--rtmp-port', String(cliPort), '--http-port', '0'], {
      TIDECAST_RTMP_PORT: String(rtmpPort),
    });
    expect((await banner(other)).rtmpPort).toBe(cliPort);
  });

  it('--config YAML with apps { tv: {} }: tv/x is publishable and playable, live is rejected', async () => {
    const file = tempFile('tv.yaml', 'apps:\n  tv: {}\nlog:\n  level: info\n');
    const cli = spawnCli(['--config', file, ...LOCAL, '--rtmp-port', '0', '--http-port', '0']);
    const { rtmpPort, app } = await banner(cli);
    expect(app).toBe('tv');

    const pub = ffmpegPublish(`rtmp://127.0.0.1:${rtmpPort}/tv/x`, media('h264-aac-360p.flv'));
    children.push(pub);
    const v = await viewer(`rtmp://127.0.0.1:${rtmpPort}/tv/x`);
    await waitFor(() => v.video >= 5 || v.closed, 15_000, 'video on tv/x');
    expect(v.statuses).toContain('NetStream.Play.Start');

    // app "live" no longer exists: connect gets _error (Connect.Rejected) and ffmpeg fails
    const c = new RtmpClient(parseRtmpUrl(`rtmp://127.0.0.1:${rtmpPort}/live/x`));
    clients.push(c);
    await expect(within(c.connectApp(), 5000, 'connect to live')).rejects.toThrow(
      'NetConnection.Connect.Rejected',
    );
    const ff = await run(
      'ffmpeg',
      [
        '-v',
        'error',
        '-re',
        '-i',
        media('h264-aac-360p.flv'),
        '-c',
        'copy',
        '-t',
        '2',
        '-f',
        'flv',
        `rtmp://127.0.0.1:${rtmpPort}/live/x`,
      ],
      15_000,
    );
    expect(ff.code).not.toBe(0);
    expect(ff.code).not.toBeNull();
    expect(cli.out.stdout).toContain('connect rejected: unknown app');
    expect(v.closed).toBe(false);
  });
});
