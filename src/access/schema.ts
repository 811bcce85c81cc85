import { z } from 'zod';
import type { AccessPolicy } from './access-request.js';
import { parseCidrList } from './ip-rules.js';
import { MAX_KEY_LENGTH, streamKeyEntryProblem } from './stream-keys.js';

/**
 * Config schema fragments for access control, to be wired into src/config/schema.ts: `appAccessShape` goes
 * into each app's object, `accessSectionSchema` is the top-level `access` section. Docs are generated from the
 * descriptions.
 */

export const accessModeSchema = z
  .enum(['open', 'deny', 'key', 'signed', 'webhook'])
  .describe(
    'Who may do this: `open` (anyone), `deny` (no one), `key` (a stream key from `access.keys`/`access.keysFile`, ' +
      'given as the stream name or `?key=`), `signed` (a URL signed with `access.secrets`: `?expires=&token=`), ' +
      'or `webhook` (ask the webhook).',
  );

const cidr = z
  .string()
  .superRefine((value, ctx) => {
    try {
      parseCidrList([value]);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  })
  .describe('An IP address or CIDR range, IPv4 or IPv6 (`10.0.0.0/8`, `2001:db8::/32`, `192.0.2.7`).');

export const accessPolicyObjectSchema = z
  .strictObject({
    mode: accessModeSchema,
    ipAllow: z
      .array(cidr)
      .default([])
      .describe('Only these addresses/CIDR ranges may do this (empty = any address); checked before `mode`.'),
    ipDeny: z
      .array(cidr)
      .default([])
      .describe('These addresses/CIDR ranges may never do this; wins over `ipAllow`.'),
  })
  .describe('Access mode with IP rules.');

export const accessPolicySchema = z
  .union([accessModeSchema, accessPolicyObjectSchema])
  .describe('A mode (`open`, `deny`, `key`, `signed`, `webhook`) or `{ mode, ipAllow, ipDeny }`.');

/** The `publish` and `play` fields of an app. */
export const appAccessShape = {
  publish: accessPolicySchema
    .default('open')
    .describe(
      'Who may publish: a mode (`open`, `deny`, `key`, `signed`, `webhook`) or `{ mode, ipAllow, ipDeny }`.',
    ),
  play: accessPolicySchema
    .default('open')
    .describe(
      'Who may play: a mode (`open`, `deny`, `key`, `signed`, `webhook`) or `{ mode, ipAllow, ipDeny }`.',
    ),
};

export const streamKeyEntrySchema = z
  .strictObject({
    key: z.string().min(1).max(MAX_KEY_LENGTH).describe('The secret stream key (no whitespace).'),
    stream: z
      .string()
      .optional()
      .describe('Stream name the key publishes as; when absent the key itself is the stream name.'),
    app: z.string().optional().describe('Only valid in this app; when absent, in every app.'),
  })
  .superRefine((entry, ctx) => {
    const problem = streamKeyEntryProblem(entry);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe('A static stream key.');

export const accessSectionSchema = z
  .strictObject({
    secrets: z
      .array(z.string().min(16, 'signing secrets must be at least 16 characters'))
      .default([])
      .describe(
        'HMAC-SHA256 secrets for signed URLs (at least 16 characters each): the first signs, all verify, so ' +
          'add a new secret first and drop the old one once its URLs have expired.',
      ),
    bindIp: z
      .boolean()
      .default(false)
      .describe("Signed URLs must be bound to the client's IP address (`tidecast sign --ip`)."),
    keys: z
      .array(streamKeyEntrySchema)
      .default([])
      .describe('Static stream keys: `[{ key, stream?, app? }]`; `stream` defaults to the key itself.'),
    keysFile: z
      .string()
      .min(1)
      .optional()
      .describe(
        'File of more stream keys, re-read on reload: lines of `key` or `key stream-name` (`#` comments), or a JSON array of `{ key, stream?, app? }`.',
      ),
    defaultExpirySeconds: z
      .number()
      .int()
      .min(1)
      .max(10 * 365 * 24 * 3600)
      .default(3600)
      .describe('Lifetime of URLs signed without an explicit expiry, seconds.'),
  })
  .prefault({})
  .describe('Access control: signing secrets for `signed` mode and stream keys for `key` mode.');

export type AccessPolicyConfig = z.output<typeof accessPolicySchema>;
export type AccessSectionConfig = z.output<typeof accessSectionSchema>;

/** A config policy (mode string or object) as the AccessPolicy decideLocal takes. */
export function toAccessPolicy(value: AccessPolicyConfig): AccessPolicy {
  return typeof value === 'string'
    ? { mode: value }
    : { mode: value.mode, ipAllow: value.ipAllow, ipDeny: value.ipDeny };
}

/**
 * Cross-field problems the per-field schema cannot see: `signed` without secrets, `key` without any key source.
 * Each message names the app and action; empty when the config is consistent.
 */
export function accessConfigProblems(
  apps: Record<string, { publish: AccessPolicyConfig; play: AccessPolicyConfig }>,
  access: AccessSectionConfig,
): string[] {
  const problems: string[] = [];
  for (const [app, cfg] of Object.entries(apps)) {
    for (const action of ['publish', 'play'] as const) {
      const { mode } = toAccessPolicy(cfg[action]);
      if (mode === 'signed' && access.secrets.length === 0) {
        problems.push(`apps.${app}.${action} is "signed" but access.secrets is empty`);
      }
      if (mode === 'key' && access.keys.length === 0 && access.keysFile === undefined) {
        problems.push(`apps.${app}.${action} is "key" but neither access.keys nor access.keysFile is set`);
      }
    }
  }
  return problems;
}
