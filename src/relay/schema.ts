import { z } from 'zod';

/**
 * Config schema fragment for relays (`relays` at the top level of src/config/schema.ts): pushes (restream),
 * static pulls and edge apps. Docs are generated from the descriptions (docs/configuration.md); recipes are in
 * docs/relays.md.
 */

const APP_RE = /^[A-Za-z0-9_.-]{1,64}$/;
const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.\-~]{0,127}$/;
const ID_RE = /^[A-Za-z0-9_.-]{1,64}$/;

function urlProblem(url: string, schemes: readonly string[]): string | undefined {
  let u: URL;
  try {
    u = new URL(url.replaceAll('{name}', 'x').replaceAll('{app}', 'x'));
  } catch {
    return `not a URL: ${url}`;
  }
  if (!schemes.includes(u.protocol))
    return `${u.protocol}// is not supported here (use ${schemes.join(' ')})`;
  if (!u.hostname) return `no host in ${url}`;
  return undefined;
}

const urlOf = (schemes: readonly string[], what: string) =>
  z
    .string()
    .min(1)
    .max(2048)
    .superRefine((value, ctx) => {
      const problem = urlProblem(value, schemes);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    })
    .describe(what);

export const PUSH_SCHEMES = ['rtmp:', 'rtmps:'] as const;
export const PULL_SCHEMES = ['rtmp:', 'rtmps:', 'http:', 'https:'] as const;

export const pushSchema = z
  .strictObject({
    id: z
      .string()
      .regex(ID_RE)
      .optional()
      .describe('Name of this push in the API (default `push-<n>`, by position).'),
    app: z.string().regex(APP_RE).describe('Local app whose streams are pushed.'),
    stream: z
      .string()
      .regex(NAME_RE)
      .optional()
      .describe('Only this stream of the app (default: every stream of the app).'),
    url: urlOf(
      PUSH_SCHEMES,
      'Destination, `rtmp://` or `rtmps://` (port 443 by default), e.g. `rtmp://a.rtmp.youtube.com/live2/KEY`. ' +
        '`{name}` and `{app}` are replaced by the stream name and app; the query string is kept (access tokens).',
    ),
  })
  .describe('A push (restream): each live stream that matches is forwarded to `url`.');

export const pullSchema = z
  .strictObject({
    app: z.string().regex(APP_RE).describe('Local app the pulled stream appears in.'),
    name: z.string().regex(NAME_RE).describe('Local stream name.'),
    urls: z
      .array(urlOf(PULL_SCHEMES, 'A source URL.'))
      .min(1)
      .max(16)
      .describe(
        'Source URLs tried in order (failover): `rtmp://`, `rtmps://`, or `http(s)://...flv` (HTTP-FLV).',
      ),
    mode: z
      .enum(['always', 'on-demand'])
      .default('always')
      .describe(
        '`always`: pulled from start-up; `on-demand`: pulled while it has players (plus `idleGraceMs`).',
      ),
  })
  .describe('A static pull: a local stream fed from a remote URL.');

export const edgeSchema = z
  .strictObject({
    origins: z
      .array(urlOf(PULL_SCHEMES, 'An origin URL.'))
      .min(1)
      .max(16)
      .describe(
        'Origins tried in order, each the URL of an app (`rtmp://origin1:1935/live`); the stream name is ' +
          'appended, or replaces `{name}` when present. `http(s)://` origins give HTTP-FLV (`.../live/{name}.flv`).',
      ),
    forwardPublish: z
      .boolean()
      .default(false)
      .describe('A stream published to this edge app is also pushed to the origins (first that accepts).'),
  })
  .describe('An edge app: a play for a stream that is not here pulls it from the first origin that has it.');

export const relaysSchema = z
  .strictObject({
    push: z
      .array(pushSchema)
      .default([])
      .describe(
        'Pushes (restream): `[{ id?, app, stream?, url }]`; each live stream of `app` (or only `stream`) is ' +
          'forwarded to `url` (`{name}`/`{app}` replaced). More can be added at run time (`POST /api/v1/relays/pushes`).',
      ),
    pull: z
      .array(pullSchema)
      .default([])
      .describe(
        'Static pulls: `[{ app, name, urls: [..], mode: always|on-demand }]`; a local stream fed from remote ' +
          '`rtmp://`, `rtmps://` or HTTP-FLV URLs (tried in order).',
      ),
    edge: z
      .record(z.string().regex(APP_RE), edgeSchema)
      .default({})
      .describe(
        'Edge apps by name: `{ <app>: { origins: [..], forwardPublish } }`. The app must also be in `apps` ' +
          '(its `play`/`publish` access applies to local clients).',
      ),
    backoffInitialMs: z
      .number()
      .int()
      .min(10)
      .default(1_000)
      .describe('First retry delay after a relay connection fails or drops; doubles each time.'),
    backoffMaxMs: z.number().int().min(10).default(30_000).describe('Longest retry delay.'),
    backoffJitter: z
      .number()
      .min(0)
      .max(1)
      .default(0.3)
      .describe('Each retry delay is randomised by ± this fraction.'),
    connectTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(10_000)
      .describe(
        'A push must be publishing within this; a pull must be connected (RTMP connect, or the HTTP response head) within this.',
      ),
    firstMediaTimeoutMs: z
      .number()
      .int()
      .min(100)
      .default(5_000)
      .describe(
        'A pull attempt with no audio/video this long after it started moves to the next origin/URL (then backs off).',
      ),
    mediaTimeoutMs: z
      .number()
      .int()
      .min(1000)
      .default(15_000)
      .describe('A live pull that gets no media for this long reconnects.'),
    idleGraceMs: z
      .number()
      .int()
      .min(0)
      .default(10_000)
      .describe('An on-demand pull (edge or static) stops this long after its last player left.'),
    tlsVerify: z
      .boolean()
      .default(true)
      .describe(
        'Verify the certificates of `rtmps://` and `https://` relay peers (against `tlsCaFile` or the system CAs).',
      ),
    tlsCaFile: z
      .string()
      .min(1)
      .optional()
      .describe('PEM CA bundle trusted for `rtmps://`/`https://` relay peers (e.g. a private origin).'),
  })
  .prefault({})
  .describe('Relays: pushes (restream), static pulls and edge apps (docs/relays.md).');

export type RelaysConfig = z.output<typeof relaysSchema>;
export type PushConfig = z.output<typeof pushSchema>;
export type PullConfig = z.output<typeof pullSchema>;
export type EdgeConfig = z.output<typeof edgeSchema>;
