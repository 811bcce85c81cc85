/** URL helpers for relays: templates, origin URLs, the kind of a source, redaction for the API and logs. */

export type SourceKind = 'rtmp' | 'http-flv';

/** `{app}` and `{name}` replaced (a push's destination). */
export function expandTemplate(template: string, app: string, name: string): string {
  return template.replaceAll('{app}', app).replaceAll('{name}', name);
}

export function sourceKind(url: string): SourceKind {
  return /^https?:/i.test(url) ? 'http-flv' : 'rtmp';
}

/**
 * The URL of stream `name` on an origin given as the URL of an app: `{name}` replaced when present, else
 * `/<name>` (plus `.flv` for HTTP-FLV) appended to the path, before the query (which is kept: access tokens).
 */
export function originUrl(origin: string, app: string, name: string): string {
  if (origin.includes('{name}')) return expandTemplate(origin, app, name);
  const q = origin.indexOf('?');
  const base = (q < 0 ? origin : origin.slice(0, q)).replace(/\/+$/, '');
  const query = q < 0 ? '' : origin.slice(q);
  const suffix = sourceKind(origin) === 'http-flv' ? '.flv' : '';
  return `${expandTemplate(base, app, name)}/${name}${suffix}${query}`;
}

const REDACTED = '***';

/**
 * For the API and logs: credentials and query values replaced by `***`, and with `keyInPath` the last path
 * segment too (a CDN stream key such as `rtmp://a.rtmp.youtube.com/live2/<key>`).
 */
export function redactUrl(url: string, keyInPath = false): string {
  let out = url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/@?#]*@/i, `$1${REDACTED}@`);
  const q = out.indexOf('?');
  let path = q < 0 ? out : out.slice(0, q);
  let query = q < 0 ? '' : out.slice(q + 1);
  if (keyInPath) path = path.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/]+\/.+\/)[^/]+$/i, `$1${REDACTED}`);
  if (query)
    query = query
      .split('&')
      .map((kv) => {
        const eq = kv.indexOf('=');
        return eq < 0 ? kv : `${kv.slice(0, eq)}=${REDACTED}`;
      })
      .join('&');
  out = query ? `${path}?${query}` : path;
  return out;
}

/** `host:port` for logs and the publisher's remote address. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return '';
  }
}
