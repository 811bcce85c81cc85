import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  accessConfigProblems,
  accessPolicySchema,
  accessSectionSchema,
  appAccessShape,
  toAccessPolicy,
} from './schema.js';

const appSchema = z.strictObject(appAccessShape);

function describedLeaves(schema: z.ZodType, path = ''): string[] {
  const missing: string[] = [];
  const def = (schema as unknown as { def: Record<string, unknown> }).def;
  if (!schema.description) missing.push(path || '(root)');
  if (def.type === 'object') {
    for (const [k, v] of Object.entries(def.shape as Record<string, z.ZodType>)) {
      missing.push(...describedLeaves(v, `${path}.${k}`));
    }
  }
  return missing;
}

describe('access policy schema', () => {
  it('takes a mode string or an object, defaulting to open', () => {
    expect(appSchema.parse({})).toEqual({ publish: 'open', play: 'open' });
    expect(appSchema.parse({ publish: 'key', play: 'signed' })).toEqual({ publish: 'key', play: 'signed' });
    expect(appSchema.parse({ publish: { mode: 'webhook', ipAllow: ['10.0.0.0/8'] } })).toEqual({
      publish: { mode: 'webhook', ipAllow: ['10.0.0.0/8'], ipDeny: [] },
      play: 'open',
    });
  });

  it('rejects unknown modes, unknown keys and bad CIDRs', () => {
    expect(accessPolicySchema.safeParse('private').success).toBe(false);
    expect(accessPolicySchema.safeParse({ mode: 'open', extra: 1 }).success).toBe(false);
    expect(accessPolicySchema.safeParse({ ipAllow: [] }).success).toBe(false);
    const r = accessPolicySchema.safeParse({ mode: 'open', ipDeny: ['10.0.0.0/40'] });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('10.0.0.0/40');
  });

  it('converts to an AccessPolicy', () => {
    expect(toAccessPolicy('deny')).toEqual({ mode: 'deny' });
    expect(toAccessPolicy({ mode: 'key', ipAllow: ['::1'], ipDeny: [] })).toEqual({
      mode: 'key',
      ipAllow: ['::1'],
      ipDeny: [],
    });
  });
});

describe('access section schema', () => {
  it('has defaults', () => {
    expect(accessSectionSchema.parse(undefined)).toEqual({
      secrets: [],
      bindIp: false,
      keys: [],
      defaultExpirySeconds: 3600,
    });
  });

  it('accepts a full section', () => {
    const v = {
      secrets: ['0123456789abcdef0123'],
      bindIp: true,
      keys: [{ key: 'abc', stream: 'cam1', app: 'live' }, { key: 'plain' }],
      keysFile: '/etc/tidecast/keys.txt',
      defaultExpirySeconds: 60,
    };
    expect(accessSectionSchema.parse(v)).toEqual(v);
  });

  it('validates secrets and keys', () => {
    expect(accessSectionSchema.safeParse({ secrets: ['short'] }).success).toBe(false);
    expect(accessSectionSchema.safeParse({ keys: [{ key: 'a b' }] }).success).toBe(false);
    expect(accessSectionSchema.safeParse({ keys: [{ key: 'k', stream: '../x' }] }).success).toBe(false);
    expect(accessSectionSchema.safeParse({ keys: [{ key: 'k/x' }] }).success).toBe(false);
    expect(accessSectionSchema.safeParse({ keys: [{ key: 'k', app: 'a/b' }] }).success).toBe(false);
    expect(accessSectionSchema.safeParse({ keys: [{ key: 'k', extra: 1 }] }).success).toBe(false);
    expect(accessSectionSchema.safeParse({ defaultExpirySeconds: 0 }).success).toBe(false);
    expect(accessSectionSchema.safeParse({ other: 1 }).success).toBe(false);
  });

  it('describes every field', () => {
    expect(describedLeaves(accessSectionSchema)).toEqual([]);
    expect(describedLeaves(appSchema).filter((p) => p !== '(root)')).toEqual([]);
  });
});

describe('accessConfigProblems', () => {
  it('flags signed without secrets and key without keys', () => {
    const access = accessSectionSchema.parse({});
    const apps = {
      live: { publish: 'key' as const, play: { mode: 'signed' as const, ipAllow: [], ipDeny: [] } },
    };
    expect(accessConfigProblems(apps, access)).toEqual([
      'apps.live.publish is "key" but neither access.keys nor access.keysFile is set',
      'apps.live.play is "signed" but access.secrets is empty',
    ]);
    const ok = accessSectionSchema.parse({ secrets: ['0123456789abcdef'], keysFile: 'k.txt' });
    expect(accessConfigProblems(apps, ok)).toEqual([]);
  });
});
