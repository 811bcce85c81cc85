import { describe, expect, it } from 'vitest';
import { validateConfig } from '../config/load.js';
import { countBy, redactConfig } from './views.js';

describe('redactConfig', () => {
  it('replaces every secret, keeps the rest, leaves the original alone', () => {
    const config = validateConfig({
      api: { token: 'api-token-0123456789' },
      access: {
        secrets: ['secret-one-0123456789', 'secret-two-0123456789'],
        keys: [{ key: 'k1', app: 'live' }],
      },
      webhooks: {
        url: 'https://user:pass@hooks.example/x?y=1',
        events: { publish: 'http://a:b@127.0.0.1/p', stop: 'http://127.0.0.1/s' },
        secret: 'webhook-secret-0123456789',
      },
    });
    const r = redactConfig(config);
    expect(r.api.token).toBe('***');
    expect(r.access.secrets).toEqual(['***', '***']);
    expect(r.access.keys).toEqual([{ key: '***', app: 'live' }]);
    expect(r.webhooks.secret).toBe('***');
    expect(r.webhooks.url).toBe('https://***@hooks.example/x?y=***');
    expect(r.webhooks.events.publish).toBe('http://***@127.0.0.1/p');
    expect(r.webhooks.events.stop).toBe('http://127.0.0.1/s');
    expect(r.rtmp).toEqual(config.rtmp);
    expect(config.api.token).toBe('api-token-0123456789');
    expect(config.access.keys[0].key).toBe('k1');
  });

  it('masks stream keys and tokens in relay URLs and exec hook arguments', () => {
    const config = validateConfig({
      relays: {
        push: [{ app: 'live', url: 'rtmp://a.rtmp.youtube.com/live2/abcd-efgh-ijkl' }],
        pull: [{ app: 'live', name: 'in', urls: ['rtmps://origin.example/live/cam?token=s3cret'] }],
        edge: { live: { origins: ['rtmp://u:p@origin.example/live'] } },
      },
      apps: {
        live: {
          transcode: { exec: [{ args: ['-i', '{input}', '-f', 'flv', 'rtmp://cdn.example/app/SECRETKEY'] }] },
        },
      },
    });
    const text = JSON.stringify(redactConfig(config));
    for (const secret of ['abcd-efgh-ijkl', 's3cret', 'u:p@', 'SECRETKEY'])
      expect(text).not.toContain(secret);
    expect(text).toContain('rtmp://a.rtmp.youtube.com/live2/***');
  });

  it('absent secrets stay absent', () => {
    const r = redactConfig(validateConfig({}));
    expect(r.api.token).toBeUndefined();
    expect(r.webhooks.secret).toBeUndefined();
    expect(r.access.secrets).toEqual([]);
  });
});

describe('countBy', () => {
  it('counts by key, skipping undefined', () => {
    expect(countBy(['a', 'b', 'a', 'c'], (x) => (x === 'c' ? undefined : x))).toEqual({ a: 2, b: 1 });
  });
});
