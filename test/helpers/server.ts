import { Writable } from 'node:stream';
import pino from 'pino';
import { mergeConfig, validateConfig } from '../../src/config/load.js';
import { TidecastServer } from '../../src/server.js';

export interface TestServer {
  server: TidecastServer;
  rtmpPort: number;
  httpPort: number;
  rtmpUrl: (path: string) => string;
  httpUrl: (path: string) => string;
  /** JSON log lines so far */
  logs: Array<Record<string, unknown>>;
  waitLive: (app: string, name: string, timeoutMs?: number) => Promise<void>;
  close: () => Promise<void>;
}

/** The API bearer token every test server has (tests that check auth use others). */
export const TEST_API_TOKEN = 'test-api-token-0123456789abcdef';

/** A real server on 127.0.0.1 and free ports, logging JSON into memory. */
export async function startTestServer(overrides: Record<string, unknown> = {}): Promise<TestServer> {
  const config = validateConfig(
    mergeConfig(
      {
        host: '127.0.0.1',
        rtmp: { port: 0 },
        http: { port: 0 },
        log: { level: 'debug', format: 'json' },
        api: { token: TEST_API_TOKEN },
        // every test client comes from 127.0.0.1; the limits have their own tests
        limits: { maxConnectionsPerIp: 100_000, connectionRatePerIp: 100_000 },
      },
      overrides,
    ),
  );
  const logs: Array<Record<string, unknown>> = [];
  const dest = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  const server = new TidecastServer(config, pino({ level: 'debug' }, dest));
  const ports = await server.start();
  const rtmpPort = ports.rtmp ?? 0;
  const httpPort = ports.http ?? 0;
  return {
    server,
    rtmpPort,
    httpPort,
    logs,
    rtmpUrl: (p) => `rtmp://127.0.0.1:${rtmpPort}/${p}`,
    httpUrl: (p) => `http://127.0.0.1:${httpPort}/${p}`,
    waitLive: async (app, name, timeoutMs = 15_000) => {
      const end = Date.now() + timeoutMs;
      while (Date.now() < end) {
        const s = server.registry.get(app, name);
        if (s?.live && s.gop.videoHeader && s.gop.gopFrameCount > 0) return;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`${app}/${name} did not go live within ${timeoutMs} ms`);
    },
    close: () => server.close(),
  };
}

export function closedReasons(logs: Array<Record<string, unknown>>): string[] {
  return logs
    .filter((l) => typeof l.msg === 'string' && l.msg.startsWith('closed: '))
    .map((l) => String(l.reason));
}
