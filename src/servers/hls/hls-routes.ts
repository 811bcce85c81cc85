import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gzipSync } from 'node:zlib';
import type { Config } from '../../config/schema.js';
import { decideBlocking, parseBlockingQuery } from '../../formats/hls/blocking.js';
import type { HlsService, HlsStream } from '../../segmenter/hls-service.js';
import { renderStreamPlaylist } from '../../segmenter/playlist-view.js';
import type { RequestTarget } from '../http/request-target.js';
import { isValidStreamName } from '../names.js';

/** `/app/name/<file>` for the HLS files we serve. */
const HLS_PATH =
  /^\/([^/]+)\/([^/]+)\/(index\.m3u8|init\.mp4|seg(\d{1,9})\.(ts|m4s)|part(\d{1,9})\.(\d{1,4})\.m4s)$/;

export interface HlsRouteDeps {
  config: Config;
  hls: HlsService;
}

function headers(config: Config, extra: Record<string, string>): Record<string, string> {
  return { 'Access-Control-Allow-Origin': config.http.allowOrigin, ...extra };
}

function notFound(res: ServerResponse, config: Config, what: string): void {
  res
    .writeHead(404, headers(config, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache' }))
    .end(`${what} not found\n`);
}

const mediaHeaders = new WeakMap<Buffer, { etag: string; headers: string[] }>();

/**
 * A strong ETag from the content and the response headers as a flat array, made once per stored buffer (not
 * once per request).
 */
function mediaHeadersOf(
  bytes: Buffer,
  type: string,
  allowOrigin: string,
): { etag: string; headers: string[] } {
  let m = mediaHeaders.get(bytes);
  if (!m) {
    const etag = `"${createHash('sha1').update(bytes).digest('base64url').slice(0, 22)}"`;
    m = {
      etag,
      headers: [
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
      ],
    };
    mediaHeaders.set(bytes, m);
  }
  return m;
}

/** Immutable media bytes: cacheable forever by a CDN, with an ETag. */
export function sendMedia(
  req: IncomingMessage,
  res: ServerResponse,
  config: Config,
  bytes: Buffer,
  type: string,
): void {
  const m = mediaHeadersOf(bytes, type, config.http.allowOrigin);
  if (req.headers['if-none-match'] === m.etag) {
    res.writeHead(304, m.headers).end();
    return;
  }
  res.writeHead(200, m.headers);
  res.end(req.method === 'HEAD' ? undefined : bytes);
}

/** Returns true when the request was an HLS path (handled, possibly asynchronously). */
export function serveHls(
  req: IncomingMessage,
  res: ServerResponse,
  url: RequestTarget,
  d: HlsRouteDeps,
): boolean {
  const m = HLS_PATH.exec(url.pathname);
  if (!m) return false;
  const [, app, name, file, segMsn, segExt, partMsn, partIdx] = m;
  if (!Object.hasOwn(d.config.apps, app) || !isValidStreamName(name)) {
    notFound(res, d.config, 'stream');
    return true;
  }
  const h = d.hls.get(app, name);
  if (!h) {
    notFound(res, d.config, `stream ${app}/${name}`);
    return true;
  }
  if (file === 'index.m3u8') {
    servePlaylist(req, res, url, h, d.config);
  } else if (file === 'init.mp4') {
    const v = url.searchParams.get('v');
    const bytes = v ? h.store.initVersion(Number(v)) : h.store.init?.bytes;
    if (bytes) sendMedia(req, res, d.config, bytes, 'video/mp4');
    else if (!h.store.init) notReady(res, d.config);
    else notFound(res, d.config, 'init segment');
  } else if (segMsn !== undefined) {
    const seg = h.store.segment(Number(segMsn));
    const wantExt = h.format === 'mpegts' ? 'ts' : 'm4s';
    if (seg && segExt === wantExt)
      sendMedia(req, res, d.config, seg.bytes, wantExt === 'ts' ? 'video/mp2t' : 'video/mp4');
    else notFound(res, d.config, 'segment');
  } else {
    servePart(req, res, h, Number(partMsn), Number(partIdx), d.config);
  }
  return true;
}

function notReady(res: ServerResponse, config: Config): void {
  res
    .writeHead(
      503,
      headers(config, { 'Content-Type': 'text/plain', 'Retry-After': '1', 'Cache-Control': 'no-cache' }),
    )
    .end('the first segment is not ready yet\n');
}

/** Waits until `ready()` or the timeout; resolves false on timeout or client disconnect. */
export function waitFor(
  h: HlsStream,
  res: ServerResponse,
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
    res.on('close', () => finish(false));
  });
}

function servePlaylist(
  req: IncomingMessage,
  res: ServerResponse,
  url: RequestTarget,
  h: HlsStream,
  config: Config,
): void {
  const q = parseBlockingQuery(url.searchParams);
  if ('error' in q) {
    res.writeHead(400, headers(config, { 'Content-Type': 'text/plain' })).end(`${q.error}\n`);
    return;
  }
  const send = () => {
    if (h.store.segments.length === 0 && !h.store.current?.parts.length) return notReady(res, config);
    const gzip = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const { body, headers: h200 } = cachedPlaylist(h, config, q.skip !== undefined, gzip);
    res.writeHead(200, h200);
    res.end(req.method === 'HEAD' ? undefined : body);
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
    res.writeHead(400, headers(config, { 'Content-Type': 'text/plain' })).end(`${first.reason}\n`);
    return;
  }
  // blocking reload: hold until the requested segment/part exists, at most 3 target durations (8216bis §6.2.5.2)
  void waitFor(
    h,
    res,
    () => decideBlocking(q, state()).kind === 'ready',
    3 * config.hls.targetDuration * 1000,
  ).then((ok) => {
    if (res.destroyed) return;
    if (ok || h.store.ended) send();
    else res.writeHead(503, headers(config, { 'Retry-After': '1' })).end();
  });
}

interface RenderedPlaylist {
  body: Buffer;
  /** flat [name, value, ...] response headers */
  headers: string[];
}

const playlistCache = new WeakMap<HlsStream, { version: number; bodies: Map<string, RenderedPlaylist> }>();

/**
 * Render (and gzip) a playlist, with its response headers, once per store change and variant: a thousand LL-HLS
 * clients released by the same new part share one rendering instead of making a thousand.
 */
function cachedPlaylist(h: HlsStream, config: Config, skip: boolean, gzip: boolean): RenderedPlaylist {
  let c = playlistCache.get(h);
  if (!c || c.version !== h.store.version) {
    c = { version: h.store.version, bodies: new Map() };
    playlistCache.set(h, c);
  }
  const key = `${skip ? 's' : ''}${gzip ? 'z' : ''}`;
  let r = c.bodies.get(key);
  if (!r) {
    const text = renderStreamPlaylist(h, config, skip);
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
    r = { body, headers };
    c.bodies.set(key, r);
  }
  return r;
}

/** Parts are served when they exist; a request for the next part (the preload hint) blocks until it does. */
function servePart(
  req: IncomingMessage,
  res: ServerResponse,
  h: HlsStream,
  msn: number,
  idx: number,
  config: Config,
): void {
  const existing = h.store.part(msn, idx);
  if (existing) return sendMedia(req, res, config, existing.bytes, 'video/mp4');
  const cur = h.store.current;
  const soon = cur && ((msn === cur.msn && idx <= cur.parts.length + 1) || (msn === cur.msn + 1 && idx <= 1));
  if (!soon) return notFound(res, config, 'part');
  // done waiting once the part exists, or once its segment closed without it (the hint moved to the next segment)
  const settled = () => h.store.part(msn, idx) !== undefined || h.store.segment(msn) !== undefined;
  void waitFor(h, res, settled, 3 * config.hls.targetDuration * 1000).then((ok) => {
    if (res.destroyed) return;
    const p = h.store.part(msn, idx);
    if (ok && p) sendMedia(req, res, config, p.bytes, 'video/mp4');
    else notFound(res, config, 'part');
  });
}
