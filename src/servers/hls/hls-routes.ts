import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Config } from '../../config/schema.js';
import { MEDIA_TOKEN_PARAM, type MediaGate } from '../../control/media-gate.js';
import { decideBlocking, parseBlockingQuery } from '../../formats/hls/blocking.js';
import type { MediaPlaylist } from '../../formats/hls/playlist.js';
import type { HlsService, HlsStream } from '../../segmenter/hls-service.js';
import { renderStreamPlaylist } from '../../segmenter/playlist-view.js';
import { type HttpExchange, ResponseHeaders } from '../http/exchange.js';
import { isValidStreamName } from '../names.js';

/** `/app/name/<file>` for the HLS files we serve. */
export const HLS_PATH =
  /^\/([^/]+)\/([^/]+)\/(index\.m3u8|init\.mp4|seg(\d{1,9})\.(ts|m4s)|part(\d{1,9})\.(\d{1,4})\.m4s)$/;

export interface HlsRouteDeps {
  config: Config;
  hls: HlsService;
  /** access for apps whose play is not open (absent: everything open) */
  gate?: MediaGate;
}

function headers(config: Config, ...extra: string[]): string[] {
  return ['Access-Control-Allow-Origin', config.http.allowOrigin, ...extra];
}

function notFound(ex: HttpExchange, config: Config, what: string): void {
  ex.respond(
    404,
    headers(config, 'Content-Type', 'text/plain', 'Cache-Control', 'no-cache'),
    `${what} not found\n`,
  );
}

const mediaHeaders = new WeakMap<Buffer, { etag: string; headers: ResponseHeaders }>();

/**
 * A strong ETag from the content and the response headers as a flat array, made once per stored buffer (not
 * once per request).
 */
function mediaHeadersOf(
  bytes: Buffer,
  type: string,
  allowOrigin: string,
): { etag: string; headers: ResponseHeaders } {
  let m = mediaHeaders.get(bytes);
  if (!m) {
    const etag = `"${createHash('sha1').update(bytes).digest('base64url').slice(0, 22)}"`;
    m = {
      etag,
      headers: new ResponseHeaders([
        'Access-Control-Allow-Origin',
        allowOrigin,
        'Content-Type',
        type,
        'Cache-Control',
        'public, max-age=31536000, immutable',
        'ETag',
        etag,
        'Content-Length',
        String(bytes.length),
      ]),
    };
    mediaHeaders.set(bytes, m);
  }
  return m;
}

/** Immutable media bytes: cacheable forever by a CDN, with an ETag. */
export function sendMedia(ex: HttpExchange, config: Config, bytes: Buffer, type: string): void {
  const m = mediaHeadersOf(bytes, type, config.http.allowOrigin);
  if (ex.header('if-none-match') === m.etag) ex.respond(304, m.headers);
  else ex.respond(200, m.headers, bytes);
}

/** Returns true when the request was an HLS path (handled, possibly asynchronously). */
export function serveHls(ex: HttpExchange, d: HlsRouteDeps): boolean {
  const url = ex.target;
  const m = HLS_PATH.exec(url.pathname);
  if (!m) return false;
  const [, app, name, file, segMsn, segExt, partMsn, partIdx] = m;
  if (!Object.hasOwn(d.config.apps, app) || !isValidStreamName(name)) {
    notFound(ex, d.config, 'stream');
    return true;
  }
  const file_ = { file, segMsn, segExt, partMsn, partIdx };
  const gate = d.gate;
  if (!gate?.required(app)) {
    serveFile(ex, d, app, name, file_, undefined);
  } else if (file !== 'index.m3u8') {
    // segments, parts and init need the media token the playlist handed out
    if (gate.verify(app, name, url.searchParams.get(MEDIA_TOKEN_PARAM)))
      serveFile(ex, d, app, name, file_, undefined);
    else forbidden(ex, d.config, 'missing or expired media token');
  } else if (gate.verify(app, name, url.searchParams.get(MEDIA_TOKEN_PARAM))) {
    // a variant playlist linked from an allowed multivariant playlist: its media token is the credential
    serveFile(ex, d, app, name, file_, gate.issue(app, name));
  } else {
    void gate.playlist('hls', ex.ip, app, name, url.searchParams).then((a) => {
      if (ex.finished) return;
      if (a.ok) serveFile(ex, d, app, name, file_, a.token);
      else forbidden(ex, d.config, `play denied: ${a.reason}`);
    });
  }
  return true;
}

interface HlsFile {
  file: string;
  segMsn?: string;
  segExt?: string;
  partMsn?: string;
  partIdx?: string;
}

export function forbidden(ex: HttpExchange, config: Config, why: string): void {
  ex.respond(403, headers(config, 'Content-Type', 'text/plain', 'Cache-Control', 'no-store'), `${why}\n`);
}

function serveFile(
  ex: HttpExchange,
  d: HlsRouteDeps,
  app: string,
  name: string,
  f: HlsFile,
  token: string | undefined,
): void {
  const abr = d.hls.abr;
  if (f.file === 'index.m3u8' && abr?.hasRenditions(app, name)) return serveMultivariant(ex, d, app, name);
  const h = d.hls.get(app, name);
  if (f.file === 'index.m3u8' && (!h || h.store.ended)) {
    // a rendition of an on-demand ladder that is starting: "not ready yet" rather than "not found"
    if (!h && abr?.demand(app, name)) return notReady(ex, d.config);
    // a stream pulled on demand (edge app) that is not live here: the pull starts and the request waits for it
    const coming = d.hls.demand(app, name, hasMedia, (cb) => ex.onAbort(cb));
    if (coming) {
      void coming.then((ready) => {
        if (ex.finished) return;
        const now = ready ?? d.hls.get(app, name);
        if (now) servePlaylist(ex, now, d.config, token);
        else notReady(ex, d.config);
      });
      return;
    }
  }
  if (!h) return notFound(ex, d.config, `stream ${app}/${name}`);
  if (f.file === 'index.m3u8') {
    servePlaylist(ex, h, d.config, token, h.lowLatency ? renditionReports(d, app, name, token) : undefined);
  } else if (f.file === 'init.mp4') {
    const v = ex.target.searchParams.get('v');
    const bytes = v ? h.store.initVersion(Number(v)) : h.store.init?.bytes;
    if (bytes) sendMedia(ex, d.config, bytes, 'video/mp4');
    else if (!h.store.init) notReady(ex, d.config);
    else notFound(ex, d.config, 'init segment');
  } else if (f.segMsn !== undefined) {
    const seg = h.store.segment(Number(f.segMsn));
    const wantExt = h.format === 'mpegts' ? 'ts' : 'm4s';
    if (seg && f.segExt === wantExt)
      sendMedia(ex, d.config, seg.bytes, wantExt === 'ts' ? 'video/mp2t' : 'video/mp4');
    else notFound(ex, d.config, 'segment');
  } else {
    servePart(ex, h, Number(f.partMsn), Number(f.partIdx), d.config);
  }
}

/**
 * A source with renditions (src/transcode): its index.m3u8 is the multivariant playlist. Variant URIs carry the
 * request's credentials (key, signature, ...), since each variant playlist is checked for its own path.
 */
function serveMultivariant(ex: HttpExchange, d: HlsRouteDeps, app: string, name: string): void {
  const creds = new URLSearchParams();
  for (const [k, v] of ex.target.searchParams) {
    if (!k.startsWith('_HLS_') && k !== MEDIA_TOKEN_PARAM) creds.append(k, v);
  }
  // behind the gate, each variant gets a media token for its own stream (a signature covers one name only)
  const gate = d.gate?.required(app) ? d.gate : undefined;
  const query = gate
    ? (stream: string) => `${MEDIA_TOKEN_PARAM}=${gate.issue(app, stream)}`
    : () => creds.toString();
  void d.hls.abr?.multivariant(app, name, query).then((text) => {
    if (ex.finished) return;
    if (!text) return notReady(ex, d.config);
    const h = headers(d.config, 'Content-Type', 'application/vnd.apple.mpegurl', 'Cache-Control', 'no-cache');
    ex.respond(200, h, text);
  });
}

/** A playlist can be served: a segment, or (LL-HLS) a part. */
const hasMedia = (h: HlsStream) => h.store.segments.length > 0 || (h.store.current?.parts.length ?? 0) > 0;

function notReady(ex: HttpExchange, config: Config): void {
  ex.respond(
    503,
    headers(config, 'Content-Type', 'text/plain', 'Retry-After', '1', 'Cache-Control', 'no-cache'),
    'the first segment is not ready yet\n',
  );
}

/** Waits until `ready()` or the timeout; resolves false on timeout or client disconnect. */
export function waitFor(
  h: HlsStream,
  ex: HttpExchange,
  ready: () => boolean,
  timeoutMs: number,
): Promise<boolean> {
  return new Promise((resolve) => {
    if (ready()) return resolve(true);
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      off();
      resolve(ok);
    };
    const off = h.store.onChange(() => {
      if (ready() || h.store.ended) finish(ready());
    });
    const timer = setTimeout(() => finish(false), timeoutMs);
    ex.onAbort(() => finish(false));
  });
}

type Reports = () => MediaPlaylist['renditionReports'];

/**
 * LL-HLS rendition reports (8216bis §4.4.5.4) for a rendition of an ABR ladder: the other renditions' last
 * segment and part. Taken when the playlist is rendered (once per change of this rendition's store).
 */
function renditionReports(
  d: HlsRouteDeps,
  app: string,
  name: string,
  token: string | undefined,
): Reports | undefined {
  const siblings = d.hls.abr?.siblings(app, name);
  if (!siblings?.length) return undefined;
  return () => {
    const out: NonNullable<MediaPlaylist['renditionReports']> = [];
    for (const sib of siblings) {
      const s = d.hls.peek(app, sib)?.store;
      if (!s || (s.segments.length === 0 && !s.current)) continue;
      const q = token && d.gate ? `?${MEDIA_TOKEN_PARAM}=${d.gate.issue(app, sib)}` : '';
      const parts = s.current?.parts.length ?? 0;
      out.push({
        uri: `../${sib}/index.m3u8${q}`,
        lastMsn: s.current && parts > 0 ? s.current.msn : s.lastMsn,
        lastPart: s.current && parts > 0 ? parts - 1 : undefined,
      });
    }
    return out;
  };
}

function servePlaylist(
  ex: HttpExchange,
  h: HlsStream,
  config: Config,
  token: string | undefined,
  reports?: Reports,
): void {
  const q = parseBlockingQuery(ex.target.searchParams);
  if ('error' in q) {
    ex.respond(400, headers(config, 'Content-Type', 'text/plain'), `${q.error}\n`);
    return;
  }
  const send = () => {
    if (!hasMedia(h)) return notReady(ex, config);
    const gzip = /\bgzip\b/.test(ex.header('accept-encoding') ?? '');
    const { body, headers: h200 } = cachedPlaylist(h, config, q.skip !== undefined, gzip, token, reports);
    ex.respond(200, h200, body);
  };
  if (!h.lowLatency || (q.msn === undefined && q.part === undefined)) return send();
  const state = () => ({
    lastMsn: h.store.current ? h.store.current.msn : h.store.lastMsn,
    lastPart: (h.store.current?.parts.length ?? 0) - 1,
    partTarget: config.hls.partTarget,
    ended: h.store.ended,
    // between a segment closing and the next opening, the newest segment is complete
    lastMsnComplete: !h.store.current,
    lastCompletePartCount: h.store.segments.at(-1)?.parts.length,
  });
  const first = decideBlocking(q, state());
  if (first.kind === 'bad-request') {
    ex.respond(400, headers(config, 'Content-Type', 'text/plain'), `${first.reason}\n`);
    return;
  }
  // blocking reload: hold until the requested segment/part exists, at most 3 target durations (8216bis §6.2.5.2)
  void waitFor(
    h,
    ex,
    () => decideBlocking(q, state()).kind === 'ready',
    3 * config.hls.targetDuration * 1000,
  ).then((ok) => {
    if (ex.finished) return;
    if (ok || h.store.ended) send();
    else ex.respond(503, headers(config, 'Retry-After', '1'));
  });
}

interface RenderedPlaylist {
  body: Buffer;
  headers: ResponseHeaders;
}

const playlistCache = new WeakMap<HlsStream, { version: number; bodies: Map<string, RenderedPlaylist> }>();

/**
 * Render (and gzip) a playlist, with its response headers, once per store change and variant: a thousand LL-HLS
 * clients released by the same new part share one rendering instead of making a thousand.
 */
function cachedPlaylist(
  h: HlsStream,
  config: Config,
  skip: boolean,
  gzip: boolean,
  token: string | undefined,
  reports?: Reports,
): RenderedPlaylist {
  let c = playlistCache.get(h);
  if (!c || c.version !== h.store.version) {
    c = { version: h.store.version, bodies: new Map() };
    playlistCache.set(h, c);
  }
  const key = `${skip ? 's' : ''}${gzip ? 'z' : ''}${token ?? ''}`;
  let r = c.bodies.get(key);
  if (!r) {
    const text = renderStreamPlaylist(h, config, skip, token && `${MEDIA_TOKEN_PARAM}=${token}`, reports?.());
    const body = gzip ? gzipSync(text) : Buffer.from(text);
    const headers = [
      'Access-Control-Allow-Origin',
      config.http.allowOrigin,
      'Content-Type',
      'application/vnd.apple.mpegurl',
      // short-lived: a CDN may hold it for less than half a part / segment
      'Cache-Control',
      h.lowLatency ? 'max-age=0, no-cache' : 'max-age=1',
      'Vary',
      'Accept-Encoding',
      'Content-Length',
      String(body.length),
    ];
    if (gzip) headers.push('Content-Encoding', 'gzip');
    r = { body, headers: new ResponseHeaders(headers) };
    c.bodies.set(key, r);
  }
  return r;
}

/** Parts are served when they exist; a request for the next part (the preload hint) blocks until it does. */
function servePart(ex: HttpExchange, h: HlsStream, msn: number, idx: number, config: Config): void {
  const existing = h.store.part(msn, idx);
  if (existing) return sendMedia(ex, config, existing.bytes, 'video/mp4');
  const cur = h.store.current;
  const soon = cur && ((msn === cur.msn && idx <= cur.parts.length + 1) || (msn === cur.msn + 1 && idx <= 1));
  if (!soon) return notFound(ex, config, 'part');
  // done waiting once the part exists, or once its segment closed without it (the hint moved to the next segment)
  const settled = () => h.store.part(msn, idx) !== undefined || h.store.segment(msn) !== undefined;
  void waitFor(h, ex, settled, 3 * config.hls.targetDuration * 1000).then((ok) => {
    if (ex.finished) return;
    const p = h.store.part(msn, idx);
    if (ok && p) sendMedia(ex, config, p.bytes, 'video/mp4');
    else notFound(ex, config, 'part');
  });
}
