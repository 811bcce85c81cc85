import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import type { z } from 'zod';
import { accessConfigProblems } from '../access/schema.js';
import { TidecastError } from '../errors.js';
import { webhookUrlFor } from '../webhooks/schema.js';
import { type Config, configSchema } from './schema.js';
import { configLeaves, envName } from './walk.js';

type Tree = Record<string, unknown>;

function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === undefined || next === null || typeof next !== 'object') node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]] = value;
}

function parseEnvValue(kind: string, raw: string, name: string): unknown {
  switch (kind) {
    case 'number': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n))
        throw new TidecastError('CONFIG_INVALID', `${name}: not a number: "${raw}"`);
      return n;
    }
    case 'boolean':
      if (/^(1|true|yes|on)$/i.test(raw)) return true;
      if (/^(0|false|no|off)$/i.test(raw)) return false;
      throw new TidecastError('CONFIG_INVALID', `${name}: not a boolean: "${raw}"`);
    case 'record':
    case 'array':
      try {
        return JSON.parse(raw);
      } catch {
        throw new TidecastError('CONFIG_INVALID', `${name}: expected JSON`);
      }
    default:
      return raw;
  }
}

/** Values from TIDECAST_* environment variables, one per schema leaf. */
export function configFromEnv(env: NodeJS.ProcessEnv): Tree {
  const tree: Tree = {};
  for (const leaf of configLeaves(configSchema)) {
    const name = envName(leaf.path);
    const raw = env[name];
    if (raw !== undefined) setPath(tree, leaf.path, parseEnvValue(leaf.kind, raw, name));
  }
  return tree;
}

export function readConfigFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new TidecastError('CONFIG_INVALID', `cannot read config file ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = /\.json$/i.test(file) ? JSON.parse(text) : YAML.parse(text);
  } catch (err) {
    throw new TidecastError('CONFIG_INVALID', `${file}: ${(err as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new TidecastError('CONFIG_INVALID', `${file}: the top level must be a mapping`);
  }
  return parsed as Tree;
}

function isTree(v: unknown): v is Tree {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Later sources win; nested objects merge key by key. */
export function mergeConfig(...sources: Tree[]): Tree {
  const out: Tree = {};
  for (const src of sources) {
    for (const [k, v] of Object.entries(src)) {
      out[k] = isTree(v) && isTree(out[k]) && k !== 'apps' ? mergeConfig(out[k] as Tree, v) : v;
    }
  }
  return out;
}

function describeIssues(issues: z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      const at = i.path.length ? i.path.join('.') : '(top level)';
      const keys =
        i.code === 'unrecognized_keys' ? ` (${i.keys.map((k) => [...i.path, k].join('.')).join(', ')})` : '';
      return `  ${at}: ${i.message}${keys}`;
    })
    .join('\n');
}

/** Validates a merged tree; a wrong key or value throws CONFIG_INVALID naming the key path. */
export function validateConfig(input: unknown): Config {
  const result = configSchema.safeParse(input);
  if (!result.success)
    throw new TidecastError(
      'CONFIG_INVALID',
      `invalid configuration:\n${describeIssues(result.error.issues)}`,
    );
  // settings that are valid alone but not together (a mode without what it needs)
  const problems = accessConfigProblems(result.data.apps, result.data.access);
  for (const [app, cfg] of Object.entries(result.data.apps)) {
    for (const action of ['publish', 'play'] as const) {
      const mode = typeof cfg[action] === 'string' ? cfg[action] : cfg[action].mode;
      const event = action === 'publish' ? 'publish' : 'play';
      if (mode === 'webhook' && !webhookUrlFor(result.data.webhooks, event)) {
        problems.push(
          `apps.${app}.${action} is "webhook" but neither webhooks.url nor webhooks.events.${event} is set`,
        );
      }
    }
  }
  if (problems.length > 0) {
    throw new TidecastError(
      'CONFIG_INVALID',
      `invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`,
    );
  }
  return result.data;
}

export interface LoadOptions {
  file?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: Tree;
}

/** Precedence: defaults < config file < environment < command line. */
export function loadConfig(opts: LoadOptions = {}): Config {
  const fromFile = opts.file ? readConfigFile(opts.file) : {};
  const fromEnv = configFromEnv(opts.env ?? {});
  return validateConfig(mergeConfig(fromFile, fromEnv, opts.overrides ?? {}));
}
