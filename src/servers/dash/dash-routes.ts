import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../../config/schema.js';
import { MEDIA_TOKEN_PARAM, type MediaGate } from '../../control/media-gate.js';
import { type DashRepresentation, renderMpd } from '../../formats/dash/mpd.js';
import type { HlsService, HlsStream } from '../../segmenter/hls-service.js';
import { forbidden, sendMedia, waitFor } from '../hls/hls-routes.js';
import { type HttpExchange, nodeExchange } from '../http/exchange.js';
import type { RequestTarget } from '../http/request-target.js';
import { isValidStreamName } from '../names.js';

/** `/app/name/index.mpd`, `/app/name/dash/<v|a>/init.mp4`, `/app/name/dash/<v|a>/<n>.m4s` */
const DASH_PATH = /^\/([^/]+)\/([^/]+)\/(index\.mpd|dash\/([va])\/(init|\d{1,9})\.(mp4|m4s))$/;

export interface DashRouteDeps {
  config: Config;
  hls: HlsService;
  gate?: MediaGate;
}

function plain(
  res: ServerResponse,
  config: Config,
  status: number,
  body: string,
  extra: Record<string, string> = {},
): void {
  res
    .writeHead(status, {
      'Access-Control-Allow-Origin': config.http.allowOrigin,
      'Content-Type': 'text/plain',
      'Cache-Control': 'no-cache',
      ...extra,
    })
    .end(body);
}

/** The clock dash.js syncs to (UTCTiming http-iso); without it dash.js asks time.akamai.com (protocol brief §4.6). */
export function serveTime(res: ServerResponse, config: Config): void {
  plain(res, config, 200, new Date().toISOString());
}

export function serveDash(
  req: IncomingMessage,
  res: ServerResponse,
  url: RequestTarget,
  d: DashRouteDeps,
): boolean {
  const m = DASH_PATH.exec(url.pathname);
  if (!m) return false;
  const [, app, name, file, rep, which] = m;
  const ex = nodeExchange(req, res, url);
  if (!Object.hasOwn(d.config.apps, app) || !isValidStreamName(name)) {
    plain(res, d.config, 404, `stream ${app}/${name} not found\n`);
    return true;
  }
  const f = { app, name, file, rep, which };
  const gate = d.gate;
  if (!gate?.required(app)) serveDashFile(req, res, ex, d, f, undefined);
  else if (file !== 'index.mpd') {
    if (gate.verify(app, name, url.searchParams.get(MEDIA_TOKEN_PARAM)))
      serveDashFile(req, res, ex, d, f, undefined);
    else forbidden(ex, d.config, 'missing or expired media token');
  } else {
    void gate.playlist('dash', ex.ip, app, name, url.searchParams).then((a) => {
      if (ex.finished) return;
      if (a.ok) serveDashFile(req, res, ex, d, f, a.token);
      else forbidden(ex, d.config, `play denied: ${a.reason}`);
    });
  }
  return true;
}

function serveDashFile(
  req: IncomingMessage,
  res: ServerResponse,
  ex: HttpExchange,
  d: DashRouteDeps,
  { app, name, file, rep, which }: { app: string; name: string; file: string; rep?: string; which?: string },
  token: string | undefined,
): void {
  const abr = d.hls.abr;
  if (file === 'index.mpd' && d.config.hls.segmentFormat === 'fmp4' && d.config.hls.dash) {
    if (abr?.hasRenditions(app, name)) return serveAbrMpd(req, res, d, app, name, token);
  }
  const h = d.hls.get(app, name);
  const dash = d.config.hls.dash && d.config.hls.segmentFormat === 'fmp4';
  if (file === 'index.mpd' && dash && (!h || h.store.ended)) {
    // a stream pulled on demand (edge app) that is not live here: the pull starts and the request waits for it
    const coming = d.hls.demand(app, name, hasDashSegment, (cb) => ex.onAbort(cb));
    if (coming) {
      void coming.then((ready) => {
        if (res.writableEnded || res.destroyed) return;
        const now = ready ?? d.hls.get(app, name);
        if (now) serveStreamMpd(req, res, d, now, token);
        else plain(res, d.config, 503, 'the first segment is not ready yet\n', { 'Retry-After': '1' });
      });
      return;
    }
  }
  if (h?.format !== 'fmp4' || !d.config.hls.dash) {
    plain(res, d.config, 404, `stream ${app}/${name} not found\n`);
    return;
  }
  const kind = rep === 'v' ? 'video' : 'audio';
  if (file === 'index.mpd') {
    serveStreamMpd(req, res, d, h, token);
  } else if (which === 'init') {
    const bytes = h.store.dashInit?.[kind];
    if (bytes) sendMedia(ex, d.config, bytes, 'video/mp4');
    else plain(res, d.config, 404, 'init segment not found\n');
  } else {
    const n = Number(which);
    const type = kind === 'video' ? 'video/mp4' : 'audio/mp4';
    const bytes = h.store.segment(n)?.dash?.[kind];
    if (bytes) {
      sendMedia(ex, d.config, bytes, type);
    } else if (h.store.current?.msn === n && !h.store.ended && d.config.hls.dashLowLatency && h.lowLatency) {
      streamOpenSegment(req, res, h, n, kind, type, d.config);
    } else if (h.store.current?.msn === n && !h.store.ended) {
      // the segment being written: hold the request until it is complete (clients that compute the live edge
      // from the clock ask a little early) rather than answer 404 and have them retry in a loop
      const ready = () => h.store.segment(n) !== undefined;
      void waitFor(h, ex, ready, 2 * d.config.hls.targetDuration * 1000).then(() => {
        if (ex.finished) return;
        const done = h.store.segment(n)?.dash?.[kind];
        if (done) sendMedia(ex, d.config, done, type);
        else plain(res, d.config, 404, 'segment not found\n');
      });
    } else {
      plain(res, d.config, 404, 'segment not found\n');
    }
  }
}

/** An MPD can be rendered: a listed segment with its DASH fragments. */
const hasDashSegment = (h: HlsStream) => h.store.listed.some((s) => s.dash);

function serveStreamMpd(
  req: IncomingMessage,
  res: ServerResponse,
  d: DashRouteDeps,
  h: HlsStream,
  token: string | undefined,
): void {
  const host = req.headers.host ?? `127.0.0.1`;
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const mpd = renderStreamMpd(h, d.config, `${scheme}://${host}/time`, token);
  if (!mpd) return plain(res, d.config, 503, 'the first segment is not ready yet\n', { 'Retry-After': '1' });
  res.writeHead(200, {
    'Access-Control-Allow-Origin': d.config.http.allowOrigin,
    'Content-Type': 'application/dash+xml',
    'Cache-Control': 'max-age=1',
  });
  res.end(req.method === 'HEAD' ? undefined : mpd);
}

/**
 * LL-DASH: the segment being written goes out with chunked transfer, one CMAF chunk (moof+mdat) as each is made,
 * ending when the segment completes. Its bytes equal the complete segment's.
 */
function streamOpenSegment(
  req: IncomingMessage,
  res: ServerResponse,
  h: HlsStream,
  n: number,
  kind: 'video' | 'audio',
  type: string,
  config: Config,
): void {
  const list = h.store.current?.dash?.[kind];
  if (!list) return plain(res, config, 404, 'segment not found\n');
  res.writeHead(200, {
    'Access-Control-Allow-Origin': config.http.allowOrigin,
    'Content-Type': type,
    'Cache-Control': 'no-cache',
  });
  if (req.method === 'HEAD') return void res.end();
  let written = 0;
  const pump = () => {
    while (written < list.length) res.write(list[written++]);
    if (h.store.segment(n) || h.store.ended) {
      off();
      clearTimeout(timer);
      res.end();
    }
  };
  const off = h.store.onChange(pump);
  const timer = setTimeout(
    () => {
      off();
      res.end();
    },
    3 * config.hls.targetDuration * 1000,
  );
  res.on('close', () => {
    off();
    clearTimeout(timer);
  });
  pump();
}

/**
 * A source with renditions (src/transcode): one video AdaptationSet with a Representation per rendition, whose
 * segments are the renditions' own (`../{stream}_{name}/dash/v/...`), each with a media token for its path when the
 * app needs one (the MPD request itself passed the access check).
 */
function serveAbrMpd(
  req: IncomingMessage,
  res: ServerResponse,
  d: DashRouteDeps,
  app: string,
  name: string,
  token: string | undefined,
): void {
  const host = req.headers.host ?? `127.0.0.1`;
  const scheme = (req.socket as { encrypted?: boolean }).encrypted ? 'https' : 'http';
  const gate = d.gate;
  const query = (stream: string) => (token && gate ? `${MEDIA_TOKEN_PARAM}=${gate.issue(app, stream)}` : '');
  void d.hls.abr?.mpd(app, name, `${scheme}://${host}/time`, query).then((mpd) => {
    if (res.writableEnded || res.destroyed) return;
    if (!mpd)
      return plain(res, d.config, 503, 'the first segment is not ready yet\n', { 'Retry-After': '1' });
    res.writeHead(200, {
      'Access-Control-Allow-Origin': d.config.http.allowOrigin,
      'Content-Type': 'application/dash+xml',
      'Cache-Control': 'max-age=1',
    });
    res.end(req.method === 'HEAD' ? undefined : mpd);
  });
}

/** Dynamic MPD with a SegmentTimeline (ms) over the segments in the window; $Number$ is the HLS MSN. */
function renderStreamMpd(
  h: HlsStream,
  config: Config,
  timeUrl: string,
  token: string | undefined,
): string | undefined {
  const q = token ? `?${MEDIA_TOKEN_PARAM}=${token}` : '';
  const listed = h.store.listed.filter((s) => s.dash);
  const first = listed[0];
  if (!first?.dash) return undefined;
  const tracks = h.segmenter.tracks;
  const reps: DashRepresentation[] = [];
  const seconds = listed.reduce((n, s) => n + s.duration, 0) || 1;
  const bytesOf = (kind: 'video' | 'audio') => listed.reduce((n, s) => n + (s.dash?.[kind]?.length ?? 0), 0);
  if (tracks.video && h.store.dashInit?.video) {
    const v = tracks.video;
    reps.push({
      id: 'v',
      mimeType: 'video/mp4',
      codecs: v.codecString,
      bandwidth: Math.ceil((bytesOf('video') * 8) / seconds),
      width: v.width,
      height: v.height,
      timescale: 1000,
    });
  }
  if (tracks.audio && h.store.dashInit?.audio) {
    const a = tracks.audio;
    reps.push({
      id: 'a',
      mimeType: 'audio/mp4',
      codecs: a.codecString,
      bandwidth: Math.ceil((bytesOf('audio') * 8) / seconds),
      audioSamplingRate: a.sampleRate,
      timescale: 1000,
    });
  }
  // wall-clock time of media time 0: the first listed segment's PDT minus its media start
  h.store.dashAvailabilityStart ??= first.programDateTime.getTime() - first.dash.startMs;
  const ast = new Date(h.store.dashAvailabilityStart);
  const target = config.hls.targetDuration;
  return renderMpd({
    availabilityStartTime: ast,
    publishTime: new Date(),
    minimumUpdatePeriod: target,
    timeShiftBufferDepth: Math.max(seconds, 3 * target),
    suggestedPresentationDelay: 3 * target,
    minBufferTime: target,
    segmentDuration: target,
    startNumber: first.msn,
    initialization: `dash/$RepresentationID$/init.mp4${q}`,
    media: `dash/$RepresentationID$/$Number$.m4s${q}`,
    representations: reps,
    utcTimingUrl: timeUrl,
    lowLatency:
      config.hls.dashLowLatency && h.lowLatency
        ? { availabilityTimeOffset: Math.max(0, target - config.hls.partTarget), targetLatency: 1.5 * target }
        : undefined,
    timeline: listed.map((s) => ({
      t: Math.round(s.dash?.startMs ?? 0),
      d: Math.round(s.dash?.durationMs ?? 0),
    })),
    timelineTimescale: 1000,
  });
}
