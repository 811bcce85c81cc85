import { describe, expect, it } from 'vitest';
import { webhooksSchema, webhookUrlFor } from './schema.js';

describe('webhooks config', () => {
  it('has defaults and no URL by default', () => {
    const cfg = webhooksSchema.parse(undefined);
    expect(cfg).toEqual({ events: {}, timeoutMs: 3_000, retries: 3, retryBaseMs: 500, onTimeout: 'deny' });
    expect(webhookUrlFor(cfg, 'publish')).toBeUndefined();
  });

  it('routes each event to its override, else to url', () => {
    const cfg = webhooksSchema.parse({
      url: 'https://cp.example/hooks',
      events: { publish: 'http://auth.local/publish', recordDone: 'http://rec.local/done' },
    });
    expect(webhookUrlFor(cfg, 'publish')).toBe('http://auth.local/publish');
    expect(webhookUrlFor(cfg, 'record-done')).toBe('http://rec.local/done');
    expect(webhookUrlFor(cfg, 'play')).toBe('https://cp.example/hooks');
  });

  it('rejects unknown keys, non-http URLs and bad values', () => {
    expect(webhooksSchema.safeParse({ nope: 1 }).success).toBe(false);
    expect(webhooksSchema.safeParse({ events: { record_done: 'http://x/' } }).success).toBe(false);
    expect(webhooksSchema.safeParse({ url: 'ftp://x/' }).success).toBe(false);
    expect(webhooksSchema.safeParse({ url: 'not a url' }).success).toBe(false);
    expect(webhooksSchema.safeParse({ onTimeout: 'maybe' }).success).toBe(false);
    expect(webhooksSchema.safeParse({ timeoutMs: 0 }).success).toBe(false);
    expect(webhooksSchema.safeParse({ secret: 'short' }).success).toBe(false);
  });
});
