import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex, Writable } from 'node:stream';
import type { WebSocketServer } from 'ws';
import type { Config } from '../../config/schema.js';
import type { AccessService } from '../../control/access-service.js';
import type { EgressPolicy } from '../../core/egress.js';
import type { ServerEvents } from '../../core/events.js';
import type { StreamRegistry } from '../../core/registry.js';
import type { SessionTable } from '../../core/sessions.js';
import type { Stream } from '../../core/stream.js';
import type { Frame } from '../../media/frame.js';
import type { Counters } from '../../observability/counters.js';
import type { Logger } from '../../observability/logger.js';
import { isValidStreamName } from '../names.js';
import { WritableSink } from '../socket-sink.js';
import { FlvPlayer } from './flv-player.js';
import { wsBinaryFrame } from './ws-frame.js';

export interface FlvRouteDeps {
  config: Config;
  registry: StreamRegistry;
  counters: Counters;
  log: Logger;
  policy: EgressPolicy;
  sessions: SessionTable;
  events: ServerEvents;
  access: AccessService;
  wss: WebSocketServer;
}

let nextId = 1;

/** Asks the access service for a play; `then` gets the name to play, `deny` the reason. */
function checkPlay(
  d: FlvRouteDeps,
  protocol: 'http-flv' | 'ws-flv',
  req: IncomingMessage,
  app: string,
  name: string,
  query: string,
  then: (id: string, name: string) => void,
  deny: (reason: string) => void,
): void {
  const id = `${protocol}-${nextId++}`;
  void d.access
    .check({ action: 'play', protocol, sessionId: id, app, name, query, ip: req.socket.remoteAddress ?? '' })
    .then((a) => {
      if (!a.ok) return deny(a.reason);
      if (d.registry.playerCount(app, a.name) >= d.config.limits.maxPlayersPerStream) {
        d.counters.inc('play_rejected', 'max-players');
        return deny('max-players');
      }
      then(id, a.name);
    });
}

/** `/app/name.flv` -> { app, name }, or undefined when it is not a valid FLV stream path. */
export function parseFlvPath(pathname: string, config: Config): { app: string; name: string } | undefined {
  const m = /^\/([^/]+)\/([^/]+)\.flv$/.exec(pathname);
  if (!m) return undefined;
  let app: string;
  let name: string;
  try {
    app = decodeURIComponent(m[1]);
    name = decodeURIComponent(m[2]);
  } catch {
    return undefined;
  }
  if (!Object.hasOwn(config.apps, app) || !isValidStreamName(name)) return undefined;
  return { app, name };
}

/** GET/HEAD /app/name.flv: chunked video/x-flv; held until the publisher is live, 404 after the wait. */
export function serveHttpFlv(
  req: IncomingMessage,
  res: ServerResponse,
  app: string,
  requested: string,
  query: string,
  d: FlvRouteDeps,
): void {
  const cors = { 'Access-Control-Allow-Origin': d.config.http.allowOrigin };
  checkPlay(
    d,
    'http-flv',
    req,
    app,
    requested,
    query,
    (id, name) => {
      if (!res.destroyed) startHttpFlv(req, res, id, app, name, d);
    },
    (reason) => {
      if (!res.destroyed)
        res.writeHead(403, { ...cors, 'Content-Type': 'text/plain' }).end(`play denied: ${reason}\n`);
    },
  );
}

function startHttpFlv(
  req: IncomingMessage,
  res: ServerResponse,
  id: string,
  app: string,
  name: string,
  d: FlvRouteDeps,
): void {
  const cors = { 'Access-Control-Allow-Origin': d.config.http.allowOrigin };
  const headers = {
    ...cors,
    'Content-Type': 'video/x-flv',
    'Cache-Control': 'no-cache',
    Connection: 'keep-alive',
  };
  if (req.method === 'HEAD') {
    const live = d.registry.get(app, name)?.live ?? false;
    res.writeHead(live ? 200 : 404, live ? headers : { ...cors, 'Content-Type': 'text/plain' }).end();
    return;
  }
  const finish = playFlv(d, req, id, app, name, {
    protocol: 'http-flv',
    out: res,
    encodeFrame: (f) => f.flv(),
    encodeHeader: (h) => h,
    onStart: () => {
      res.writeHead(200, headers);
      res.flushHeaders();
    },
    onEnd: (reason) => {
      if (reason === 'not-found') {
        if (!res.headersSent) res.writeHead(404, { ...cors, 'Content-Type': 'text/plain' });
        res.end(`stream ${app}/${name} not found\n`);
      } else if (reason === 'slow-consumer') {
        res.destroy();
      } else {
        res.end();
      }
    },
  });
  res.on('close', () => finish('peer-closed'));
}

/** The same path upgraded to a WebSocket: binary frames carrying the HTTP-FLV byte stream. */
export function serveWsFlv(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  app: string,
  requested: string,
  query: string,
  d: FlvRouteDeps,
): void {
  checkPlay(
    d,
    'ws-flv',
    req,
    app,
    requested,
    query,
    (id, name) => {
      if (!socket.destroyed) startWsFlv(req, socket, head, id, app, name, d);
    },
    () => socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Length: 0\r\n\r\n'),
  );
}

function startWsFlv(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  id: string,
  app: string,
  name: string,
  d: FlvRouteDeps,
): void {
  d.wss.handleUpgrade(req, socket, head, (ws) => {
    // frames are written straight to the socket (unmasked server frames are identical for every viewer);
    // ws keeps handling pings and the closing handshake
    const finish = playFlv(d, req, id, app, name, {
      protocol: 'ws-flv',
      out: socket as unknown as Writable,
      encodeFrame: (f) => f.cached('ws-flv', (fr) => wsBinaryFrame(fr.flv())),
      encodeHeader: (h) => wsBinaryFrame(h),
      onStart: () => {},
      onEnd: (reason) => {
        if (reason === 'slow-consumer') ws.terminate();
        else ws.close(reason === 'not-found' ? 4404 : 1000, reason);
      },
    });
    ws.on('close', () => finish('peer-closed'));
    ws.on('error', () => finish('socket-error'));
  });
}

interface FlvTransport {
  protocol: 'http-flv' | 'ws-flv';
  out: Writable;
  encodeFrame: (f: Frame) => Buffer;
  encodeHeader: (header: Buffer) => Buffer;
  onStart: () => void;
  /** close the transport for this reason */
  onEnd: (reason: string) => void;
}

/** Subscribes an FLV player over a transport; returns `finish(reason)`, which ends it once and logs one line. */
function playFlv(
  d: FlvRouteDeps,
  req: IncomingMessage,
  id: string,
  app: string,
  name: string,
  t: FlvTransport,
): (reason: string) => void {
  const startedAt = Date.now();
  const ip = req.socket.remoteAddress ?? '';
  let stream: Stream | undefined;
  let endReason = '';
  const finish = (reason: string) => {
    if (endReason) return;
    endReason = reason;
    if (stream) d.registry.unsubscribe(stream, player);
    d.sessions.remove(id);
    d.counters.inc(`${t.protocol.replace('-', '_')}_closed`, reason);
    const durationMs = Date.now() - startedAt;
    const bytesOut = player.egress.bytesOut;
    d.log.info(
      {
        id,
        ip,
        protocol: t.protocol,
        role: 'player',
        app,
        stream: name,
        bytesIn: 0,
        bytesOut,
        durationMs,
        reason,
      },
      `closed: ${reason}`,
    );
    d.events.emit({ type: 'stop', sessionId: id, protocol: t.protocol, ip, app, name, reason });
  };
  const player: FlvPlayer = new FlvPlayer({
    id,
    protocol: t.protocol,
    stream: () => stream,
    sink: new WritableSink(t.out, () => player.egress.flush()),
    policy: d.policy,
    counters: d.counters,
    encodeFrame: t.encodeFrame,
    encodeHeader: t.encodeHeader,
    onStart: t.onStart,
    onEnd: (reason) => {
      t.onEnd(reason);
      finish(reason);
    },
  });
  d.sessions.add({
    id,
    protocol: t.protocol,
    ip,
    startedAt,
    role: 'player',
    app,
    name,
    bytesIn: () => 0,
    bytesOut: () => player.egress.bytesOut,
    kick: (reason) => {
      t.onEnd(reason === 'slow-consumer' ? reason : 'kicked');
      finish(reason);
    },
  });
  stream = d.registry.subscribe(app, name, player);
  d.events.emit({ type: 'play', sessionId: id, protocol: t.protocol, ip, app, name });
  return finish;
}
