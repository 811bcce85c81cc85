import type { z } from 'zod';

/** Introspection over the config schema, shared by env loading and the generated docs. */
export interface ConfigLeaf {
  path: string[];
  schema: z.ZodType;
  /** zod type name of the unwrapped leaf ('number', 'boolean', 'string', 'enum', 'record', ...) */
  kind: string;
  description: string | undefined;
  defaultValue: unknown;
}

interface Inner {
  def: { type: string; innerType?: z.ZodType; defaultValue?: unknown; shape?: Record<string, z.ZodType> };
  description?: string;
}

function unwrap(schema: z.ZodType): { inner: z.ZodType; defaultValue: unknown; description?: string } {
  let s = schema as unknown as Inner;
  let defaultValue: unknown;
  let description = s.description;
  while (s.def.innerType) {
    if (s.def.type === 'default' && defaultValue === undefined) {
      const d = s.def.defaultValue;
      defaultValue = typeof d === 'function' ? (d as () => unknown)() : d;
    }
    s = s.def.innerType as unknown as Inner;
    description ??= s.description;
  }
  return { inner: s as unknown as z.ZodType, defaultValue, description };
}

export function configLeaves(schema: z.ZodType, path: string[] = []): ConfigLeaf[] {
  const { inner, defaultValue, description } = unwrap(schema);
  const def = (inner as unknown as Inner).def;
  if (def.type === 'object' && def.shape) {
    return Object.entries(def.shape).flatMap(([k, v]) => configLeaves(v, [...path, k]));
  }
  return [{ path, schema: inner, kind: def.type, description, defaultValue }];
}

export function sectionDescriptions(schema: z.ZodType): Map<string, string> {
  const out = new Map<string, string>();
  const { inner } = unwrap(schema);
  const def = (inner as unknown as Inner).def;
  for (const [k, v] of Object.entries(def.shape ?? {})) {
    const u = unwrap(v);
    if ((u.inner as unknown as Inner).def.type === 'object' && u.description) out.set(k, u.description);
  }
  return out;
}

/** rtmp.outChunkSize -> TIDECAST_RTMP_OUT_CHUNK_SIZE */
export function envName(path: string[]): string {
  return `TIDECAST_${path.map((p) => p.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase()).join('_')}`;
}
