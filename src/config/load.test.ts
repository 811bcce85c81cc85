import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TidecastError } from '../errors.js';
import { configFromEnv, loadConfig, mergeConfig, readConfigFile, validateConfig } from './load.js';

const dir = mkdtempSync(join(tmpdir(), 'tidecast-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

/** The CONFIG_INVALID message thrown by fn (fails the test if fn does not throw one). */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(TidecastError);
    expect((err as TidecastError).code).toBe('CONFIG_INVALID');
    return (err as Error).message;
  }
  throw new Error('expected a CONFIG_INVALID error');
}

describe('loadConfig', () => {
  it('defaults alone are a valid configuration', () => {
    const c = loadConfig();
    expect(c.host).toBe('0.0.0.0');
    expect(c.rtmp).toMatchObject({
      enabled: true,
      port: 1935,
      outChunkSize: 60_000,
      windowAckSize: 5_000_000,
    });
    expect(c.http).toMatchObject({ enabled: true, port: 8080, allowOrigin: '*' });
    expect(c.apps).toMatchObject({ live: { publish: 'open', play: 'open' } });
    expect(c.streams).toMatchObject({ duplicatePublisher: 'reject', reconnectWaitMs: 0 });
    expect(c.egress.maxSkips).toBe(5);
    expect(c.publicHost).toBeUndefined();
    expect(validateConfig({})).toEqual(c);
  });

  it('honours TIDECAST_* environment variables (numbers, enums, booleans)', () => {
    const c = loadConfig({
      env: {
        TIDECAST_RTMP_PORT: '1936',
        TIDECAST_RTMP_OUT_CHUNK_SIZE: '8192',
        TIDECAST_STREAMS_DUPLICATE_PUBLISHER: 'takeover',
        TIDECAST_HTTP_ENABLED: 'off',
        TIDECAST_HOST: '127.0.0.1',
        UNRELATED: 'x',
      },
    });
    expect(c.rtmp.port).toBe(1936);
    expect(c.rtmp.outChunkSize).toBe(8192);
    expect(c.streams.duplicatePublisher).toBe('takeover');
    expect(c.http.enabled).toBe(false);
    expect(c.host).toBe('127.0.0.1');
    expect(c.rtmp.windowAckSize).toBe(5_000_000); // untouched siblings keep their defaults
  });

  it('reads apps from the environment as JSON', () => {
    const c = loadConfig({ env: { TIDECAST_APPS: '{"cam":{"play":"deny"}}' } });
    expect(c.apps).toMatchObject({ cam: { publish: 'open', play: 'deny' } });
  });

  it('configFromEnv builds a nested tree only from the variables present', () => {
    expect(configFromEnv({ TIDECAST_EGRESS_MAX_QUEUE_MS: '250' })).toEqual({ egress: { maxQueueMs: 250 } });
    expect(configFromEnv({})).toEqual({});
  });

  it('precedence: file < env < overrides, merged key by key', () => {
    const f = file('prec.yaml', 'rtmp:\n  port: 1000\n  outChunkSize: 256\nhttp:\n  port: 1001\n');
    const env = { TIDECAST_RTMP_PORT: '2000', TIDECAST_HTTP_PORT: '2001' };
    const c = loadConfig({ file: f, env, overrides: { http: { port: 3001 } } });
    expect(c.rtmp.port).toBe(2000); // env over file
    expect(c.http.port).toBe(3001); // overrides over env
    expect(c.rtmp.outChunkSize).toBe(256); // file value kept where nothing else set it
    expect(loadConfig({ file: f }).rtmp.port).toBe(1000);
  });

  it('an unknown key is an error naming its full path', () => {
    const msg = configError(() => loadConfig({ overrides: { rtmp: { bogus: 1 } } }));
    expect(msg).toContain('rtmp.bogus');
    const top = configError(() => validateConfig({ nope: true }));
    expect(top).toContain('nope');
  });

  it('a wrong type is an error naming the key path', () => {
    const msg = configError(() => validateConfig({ http: { port: 'eighty' } }));
    expect(msg).toContain('http.port');
    const range = configError(() => validateConfig({ rtmp: { outChunkSize: 64 } }));
    expect(range).toContain('rtmp.outChunkSize');
  });

  it('a bad environment value names the variable', () => {
    expect(configError(() => loadConfig({ env: { TIDECAST_RTMP_PORT: 'abc' } }))).toContain(
      'TIDECAST_RTMP_PORT',
    );
    expect(configError(() => loadConfig({ env: { TIDECAST_RTMP_PORT: ' ' } }))).toContain(
      'TIDECAST_RTMP_PORT',
    );
    expect(configError(() => loadConfig({ env: { TIDECAST_RTMP_ENABLED: 'maybe' } }))).toContain(
      'TIDECAST_RTMP_ENABLED',
    );
    expect(configError(() => loadConfig({ env: { TIDECAST_APPS: '{not json' } }))).toContain('TIDECAST_APPS');
  });

  it('an environment value of the right kind but out of range is reported on its key', () => {
    const msg = configError(() => loadConfig({ env: { TIDECAST_RTMP_PORT: '70000' } }));
    expect(msg).toContain('rtmp.port');
  });

  it('reads YAML files', () => {
    const f = file(
      'c.yaml',
      'host: 127.0.0.1\nrtmp:\n  port: 19350\napps:\n  live: {}\n  vod:\n    publish: deny\n',
    );
    const c = loadConfig({ file: f });
    expect(c.host).toBe('127.0.0.1');
    expect(c.rtmp.port).toBe(19350);
    expect(c.apps).toMatchObject({
      live: { publish: 'open', play: 'open' },
      vod: { publish: 'deny', play: 'open' },
    });
  });

  it('reads JSON files (by extension)', () => {
    const f = file('c.json', JSON.stringify({ http: { port: 18080 }, log: { level: 'silent' } }));
    const c = loadConfig({ file: f });
    expect(c.http.port).toBe(18080);
    expect(c.log.level).toBe('silent');
  });

  it('an empty file means defaults; a non-mapping, a syntax error or a missing file is an error', () => {
    expect(loadConfig({ file: file('empty.yaml', '') })).toEqual(loadConfig());
    expect(configError(() => readConfigFile(file('list.yaml', '- a\n- b\n')))).toContain('top level');
    expect(configError(() => readConfigFile(file('bad.json', '{"a":')))).toContain('bad.json');
    expect(configError(() => readConfigFile(join(dir, 'missing.yaml')))).toContain('missing.yaml');
  });

  it('unknown keys in a file are reported with their path', () => {
    const f = file('unknown.yaml', 'rtmp:\n  bogus: 1\n');
    expect(configError(() => loadConfig({ file: f }))).toContain('rtmp.bogus');
  });

  it('apps are replaced, not merged', () => {
    const f = file('apps.yaml', 'apps:\n  live: {}\n  vod: {}\n');
    const c = loadConfig({ file: f, overrides: { apps: { other: { play: 'deny' } } } });
    expect(Object.keys(c.apps)).toEqual(['other']);
    // a file's apps replace the default `live` too
    const only = loadConfig({ file: file('apps2.yaml', 'apps:\n  cam: {}\n') });
    expect(Object.keys(only.apps)).toEqual(['cam']);
    expect(mergeConfig({ apps: { a: {} } }, { apps: { b: {} } })).toEqual({ apps: { b: {} } });
  });

  it('an invalid app name is refused', () => {
    const msg = configError(() => validateConfig({ apps: { 'bad name': {} } }));
    expect(msg).toContain('apps');
  });

  it('an access mode without what it needs is refused at load, naming the setting', () => {
    expect(configError(() => validateConfig({ apps: { live: { publish: 'signed' } } }))).toContain(
      'apps.live.publish is "signed" but access.secrets is empty',
    );
    expect(configError(() => validateConfig({ apps: { live: { play: { mode: 'key' } } } }))).toContain(
      'apps.live.play is "key"',
    );
    expect(configError(() => validateConfig({ apps: { tv: { play: 'webhook' } } }))).toContain(
      'apps.tv.play is "webhook" but neither webhooks.url nor webhooks.events.play is set',
    );
    expect(
      validateConfig({
        apps: { tv: { play: 'webhook' } },
        webhooks: { events: { play: 'http://127.0.0.1:9/x' } },
      }).apps.tv.play,
    ).toBe('webhook');
  });
});
