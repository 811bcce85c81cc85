/**
 * A child process holding every HLS client of one run (forked by bench/hls-run.ts). IPC:
 * parent -> child: start, window-start, window-end, stop; child -> parent: started, stats, error.
 *
 * Standard clients poll the playlist every target duration / 2 and download each new segment once (at start,
 * only the newest). LL-HLS clients hold a blocking reload for the preload-hinted part
 * (`?_HLS_msn=M&_HLS_part=P`), then fetch every part the answer lists that they do not have yet, then block
 * for the next hint. Each client is one keep-alive connection with one request in flight (bench/hls-client.ts).
 *
 * "After the part is ready" for a blocking reload: the part's ready time is taken as the earliest arrival of
 * any client's answer for that (msn, part) — all clients are in this process, on one clock — and each answer
 * counts arrival - max(ready, sent): the time the server took once it could answer.
 */
import { gunzipSync } from 'node:zlib';
import { HttpConn, type HttpResult, net } from './hls-client.js';
import { Histogram, type HistogramData, nowMs } from './stats.js';

export interface HlsWorkerInit {
  host: string;
  port: number;
  playlistPath: string;
  mode: 'standard' | 'll';
  clients: number;
  /** standard: poll period (ms); clients start at random times within it */
  pollMs: number;
  /** clients start at uniformly random times within this span (ms) */
  spreadMs: number;
  timeoutMs: number;
  /** send Accept-Encoding: gzip (as browsers do) */
  gzip: boolean;
}

export type ToHlsWorker =
  | { t: 'start'; init: HlsWorkerInit }
  | { t: 'window-start' }
  | { t: 'window-end' }
  | { t: 'stop' };

export interface Kind {
  requests: number;
  /** by HTTP status, or the failure ("timeout", "closed", "connect", "protocol") */
  outcomes: Record<string, number>;
  bytes: number;
  /** request to last byte, ms (successful requests) */
  latency: HistogramData;
  /** request to response head, ms */
  ttfb: HistogramData;
}

export interface HlsWorkerStats {
  clients: number;
  windowMs: number;
  /** plain playlist requests (standard polls; the first request of an LL client) */
  playlist: Kind;
  /** blocking playlist reloads (LL) */
  blocking: Kind;
  /** segments (standard) or parts and init (LL) */
  media: Kind;
  /** LL: arrival - max(part ready, request sent) of each blocking answer, ms */
  afterReady: HistogramData;
  /** LL: blocking answers whose request went out before the part was ready (they waited) */
  blockedAnswers: number;
  /** LL: (msn, part) keys seen in the window */
  partKeys: number;
  /** LL: listed parts a client did not fetch because it was more than MAX_BACKLOG parts behind */
  partsSkipped: number;
  /** clients that got at least one media object in the window */
  clientsWithMedia: number;
  /** clients whose last media object arrived within 3 s of the window's end */
  clientsCurrent: number;
  socketBytes: number;
  reads: number;
  connects: number;
  cpuUserMs: number;
  cpuSystemMs: number;
  maxLoopLagMs: number;
}

export type FromHlsWorker =
  | { t: 'started'; clients: number }
  | { t: 'stats'; stats: HlsWorkerStats }
  | { t: 'error'; message: string };

const MAX_BACKLOG = 8;

function post(m: FromHlsWorker): void {
  process.send?.(m);
}

class KindStats {
  requests = 0;
  outcomes: Record<string, number> = {};
  bytes = 0;
  latency = new Histogram();
  ttfb = new Histogram();

  add(r: HttpResult): void {
    this.requests++;
    const k = r.error ?? String(r.status);
    this.outcomes[k] = (this.outcomes[k] ?? 0) + 1;
    this.bytes += r.bytes;
    if (r.status === 200) {
      this.latency.add(r.doneAt - r.sentAt);
      this.ttfb.add(r.headAt - r.sentAt);
    }
  }

  toJSON(): Kind {
    return {
      requests: this.requests,
      outcomes: this.outcomes,
      bytes: this.bytes,
      latency: this.latency.toJSON(),
      ttfb: this.ttfb.toJSON(),
    };
  }
}

let init: HlsWorkerInit;
let inWindow = false;
let windowAt = 0;
let windowEndAt = Number.POSITIVE_INFINITY;
let stopped = false;
let playlist = new KindStats();
let blocking = new KindStats();
let media = new KindStats();
let partsSkipped = 0;
const clients: (StandardClient | LlClient)[] = [];

function record(kind: 'playlist' | 'blocking' | 'media', r: HttpResult): void {
  if (!inWindow) return;
  (kind === 'playlist' ? playlist : kind === 'blocking' ? blocking : media).add(r);
}

/** Work after a response, run once the current batch of socket reads is done (keeps arrival stamps tight). */
const deferred: (() => void)[] = [];
function defer(fn: () => void): void {
  if (deferred.length === 0) setImmediate(flush);
  deferred.push(fn);
}
function flush(): void {
  const list = deferred.splice(0);
  for (const fn of list) fn();
}

/** A playlist answer's text ('' unless 200 with a body), inflated when the server gzipped it. */
function text(r: HttpResult): string {
  if (r.status !== 200 || !r.body) return '';
  return (r.gzip ? gunzipSync(r.body) : r.body).toString('latin1');
}

function resolve(uri: string): string {
  if (uri.startsWith('/')) return uri;
  if (/^https?:/.test(uri)) return new URL(uri).pathname;
  return init.playlistPath.slice(0, init.playlistPath.lastIndexOf('/') + 1) + uri;
}

class StandardClient {
  readonly conn = new HttpConn(init.host, init.port, init.timeoutMs, init.gzip);
  /** newest segment downloaded (or skipped at start) */
  private lastMsn = -1;
  private started = false;
  private mapUri: string | undefined;
  private pollAt = 0;
  private queue: string[] = [];
  lastMediaAt = 0;
  windowMedia = 0;

  start(delayMs: number): void {
    setTimeout(() => this.poll(), delayMs);
  }

  private poll(): void {
    if (stopped) return;
    this.pollAt = nowMs();
    this.conn.get(init.playlistPath, true, (r) => this.onPlaylist(r));
  }

  private onPlaylist(r: HttpResult): void {
    record('playlist', r);
    if (r.status === 200 && r.body) this.parse(text(r));
    this.next();
  }

  private parse(text: string): void {
    const seq = /#EXT-X-MEDIA-SEQUENCE:(\d+)/.exec(text);
    let msn = seq ? Number(seq[1]) : 0;
    const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(text)?.[1];
    if (map && map !== this.mapUri) {
      this.mapUri = map;
      this.queue.push(resolve(map));
    }
    const uris: [number, string][] = [];
    for (const line of text.split('\n')) {
      const l = line.trim();
      if (l === '' || l.startsWith('#')) continue;
      uris.push([msn++, l]);
    }
    if (!this.started && uris.length > 0) {
      this.started = true;
      this.lastMsn = uris[uris.length - 1][0] - 1; // a new player starts with the newest segment
    }
    for (const [m, uri] of uris) {
      if (m <= this.lastMsn) continue;
      this.lastMsn = m;
      this.queue.push(resolve(uri));
    }
  }

  private next(): void {
    if (stopped) return;
    const uri = this.queue.shift();
    if (uri) {
      this.conn.get(uri, false, (r) => {
        record('media', r);
        if (r.status === 200) {
          this.lastMediaAt = r.doneAt;
          if (inWindow) this.windowMedia++;
        }
        this.next();
      });
      return;
    }
    setTimeout(() => this.poll(), Math.max(0, this.pollAt + init.pollMs - nowMs()));
  }
}

/** (msn, part) -> earliest answer and every [sent, arrival] pair */
const answers = new Map<string, { first: number; pairs: number[] }>();
let afterReady = new Histogram();
let blockedAnswers = 0;
let partKeys = 0;

function noteAnswer(key: string, sentAt: number, at: number): void {
  const a = answers.get(key);
  if (a) {
    if (at < a.first) a.first = at;
    a.pairs.push(sentAt, at);
  } else answers.set(key, { first: at, pairs: [sentAt, at] });
}

/** Scores the keys whose first answer is older than ageMs (all answers are in); keeps the window's. */
function settleAnswers(ageMs: number): void {
  const now = nowMs();
  for (const [key, a] of answers) {
    if (now - a.first < ageMs) continue;
    answers.delete(key);
    if (a.first < windowAt || a.first >= windowEndAt) continue;
    partKeys++;
    for (let i = 0; i < a.pairs.length; i += 2) {
      const sent = a.pairs[i];
      const at = a.pairs[i + 1];
      if (sent < a.first) blockedAnswers++;
      afterReady.add(at - Math.max(a.first, sent));
    }
  }
}

interface PartRef {
  msn: number;
  part: number;
}
const URI_REF = /URI="([^"]*?(\d+)\.(\d+)\.m4s)"/;
const after = (a: PartRef, b: PartRef) => a.msn > b.msn || (a.msn === b.msn && a.part > b.part);

/** The line starting at i, parsed for a part URI. */
function refAt(text: string, i: number): [PartRef, string] | undefined {
  const eol = text.indexOf('\n', i);
  const m = URI_REF.exec(text.slice(i, eol < 0 ? undefined : eol));
  return m ? [{ msn: Number(m[2]), part: Number(m[3]) }, m[1]] : undefined;
}

/** The preload hint of an LL-HLS playlist (found from the end: it is the last tag). */
function hintOf(text: string): PartRef | undefined {
  const i = text.lastIndexOf('#EXT-X-PRELOAD-HINT:TYPE=PART,');
  return i < 0 ? undefined : refAt(text, i)?.[0];
}

/**
 * Listed parts newer than `have`, oldest first, at most `max` (the newest); walks EXT-X-PART tags back from the
 * end, so an answer costs the client a few string searches and not a parse of the whole playlist.
 */
function newParts(text: string, have: PartRef, max: number): { parts: [PartRef, string][]; skipped: number } {
  const parts: [PartRef, string][] = [];
  let skipped = 0;
  let pos = text.length;
  while (pos > 0) {
    const i = text.lastIndexOf('#EXT-X-PART:', pos - 1);
    if (i < 0) break;
    pos = i;
    const r = refAt(text, i);
    if (!r || !after(r[0], have)) break;
    if (parts.length < max) parts.push(r);
    else skipped++;
  }
  return { parts: parts.reverse(), skipped };
}

class LlClient {
  readonly conn = new HttpConn(init.host, init.port, init.timeoutMs, init.gzip);
  private want: PartRef = { msn: 0, part: 0 };
  private have: PartRef = { msn: -1, part: 0 };
  private mapDone = false;
  private queue: string[] = [];
  lastMediaAt = 0;
  windowMedia = 0;

  start(delayMs: number): void {
    setTimeout(() => this.first(), delayMs);
  }

  /** A plain playlist request: where the live edge is. */
  private first(): void {
    if (stopped) return;
    this.conn.get(init.playlistPath, true, (r) => {
      record('playlist', r);
      defer(() => this.onFirst(r));
    });
  }

  private onFirst(r: HttpResult): void {
    const body = text(r);
    const hint = hintOf(body);
    if (!hint) {
      setTimeout(() => this.first(), 500);
      return;
    }
    this.want = hint;
    this.have = { msn: this.want.msn, part: this.want.part - 1 }; // start at the live edge
    const map = /#EXT-X-MAP:URI="([^"]+)"/.exec(body)?.[1];
    if (map && !this.mapDone) {
      this.mapDone = true;
      this.queue.push(resolve(map));
    }
    this.next();
  }

  private block(): void {
    if (stopped) return;
    const { msn, part } = this.want;
    const key = `${msn}.${part}`;
    this.conn.get(`${init.playlistPath}?_HLS_msn=${msn}&_HLS_part=${part}`, true, (r) => {
      if (r.status === 200) noteAnswer(key, r.sentAt, r.doneAt);
      record('blocking', r);
      defer(() => this.onBlocking(r));
    });
  }

  private onBlocking(r: HttpResult): void {
    if (stopped) return;
    if (r.status !== 200 || !r.body) {
      setTimeout(() => this.first(), r.status === 0 ? 100 : 0); // lost the live edge: start over
      return;
    }
    const body = text(r);
    const hint = hintOf(body);
    if (!hint) return this.first();
    const { parts, skipped } = newParts(body, this.have, MAX_BACKLOG);
    if (inWindow) partsSkipped += skipped;
    for (const [ref, uri] of parts) {
      this.queue.push(resolve(uri));
      this.have = ref;
    }
    this.want = hint;
    this.next();
  }

  private next(): void {
    if (stopped) return;
    const uri = this.queue.shift();
    if (!uri) return this.block();
    this.conn.get(uri, false, (r) => {
      record('media', r);
      if (r.status === 200) {
        this.lastMediaAt = r.doneAt;
        if (inWindow) this.windowMedia++;
      }
      this.next();
    });
  }
}

let cpuAt = process.cpuUsage();
let maxLag = 0;
let lastTick = 0;
let lagTimer: NodeJS.Timeout | undefined;
let settleTimer: NodeJS.Timeout | undefined;

function start(i: HlsWorkerInit): void {
  init = i;
  for (let k = 0; k < i.clients; k++) {
    const c = i.mode === 'll' ? new LlClient() : new StandardClient();
    clients.push(c);
    c.start(Math.random() * i.spreadMs);
  }
  settleTimer = setInterval(() => settleAnswers(3000), 1000);
  setTimeout(() => post({ t: 'started', clients: clients.length }), i.spreadMs);
}

function windowStart(): void {
  playlist = new KindStats();
  blocking = new KindStats();
  media = new KindStats();
  afterReady = new Histogram();
  blockedAnswers = 0;
  partKeys = 0;
  partsSkipped = 0;
  for (const c of clients) c.windowMedia = 0;
  net.bytes = 0;
  net.reads = 0;
  net.connects = 0;
  inWindow = true;
  windowAt = nowMs();
  windowEndAt = Number.POSITIVE_INFINITY;
  cpuAt = process.cpuUsage();
  maxLag = 0;
  lastTick = nowMs();
  lagTimer = setInterval(() => {
    const t = nowMs();
    maxLag = Math.max(maxLag, t - lastTick - 10);
    lastTick = t;
  }, 10);
}

/** Stops counting, then waits for the last answers of parts that became ready in the window. */
function windowEnd(): void {
  inWindow = false;
  windowEndAt = nowMs();
  clearInterval(lagTimer);
  const cpu = process.cpuUsage(cpuAt);
  const windowMs = windowEndAt - windowAt;
  const socket = { ...net };
  const end = windowEndAt;
  setTimeout(() => {
    settleAnswers(0);
    const stats: HlsWorkerStats = {
      clients: clients.length,
      windowMs,
      playlist: playlist.toJSON(),
      blocking: blocking.toJSON(),
      media: media.toJSON(),
      afterReady: afterReady.toJSON(),
      blockedAnswers,
      partKeys,
      partsSkipped,
      clientsWithMedia: clients.filter((c) => c.windowMedia > 0).length,
      clientsCurrent: clients.filter((c) => c.lastMediaAt > end - 3000).length,
      socketBytes: socket.bytes,
      reads: socket.reads,
      connects: socket.connects,
      cpuUserMs: cpu.user / 1000,
      cpuSystemMs: cpu.system / 1000,
      maxLoopLagMs: maxLag,
    };
    post({ t: 'stats', stats });
  }, 1500);
}

process.on('message', (m: ToHlsWorker) => {
  try {
    if (m.t === 'start') start(m.init);
    else if (m.t === 'window-start') windowStart();
    else if (m.t === 'window-end') windowEnd();
    else if (m.t === 'stop') {
      stopped = true;
      clearInterval(settleTimer);
      for (const c of clients) c.conn.close();
      process.disconnect?.();
      setTimeout(() => process.exit(0), 200).unref();
    }
  } catch (e) {
    post({ t: 'error', message: (e as Error).stack ?? String(e) });
  }
});
process.on('disconnect', () => process.exit(0));
