import type { Socket } from 'node:net';
import type { Config } from '../../config/schema.js';
import type { AccessService } from '../../control/access-service.js';
import type { ConnectionLimiter } from '../../core/connection-limiter.js';
import type { EgressPolicy } from '../../core/egress.js';
import type { ServerEvents } from '../../core/events.js';
import { Ingest, type IngestResult } from '../../core/ingest.js';
import type { StreamRegistry } from '../../core/registry.js';
import type { Session, SessionTable } from '../../core/sessions.js';
import type { Stream } from '../../core/stream.js';
import type { Publisher } from '../../core/types.js';
import { errorCode } from '../../errors.js';
import type { FailoverService } from '../../failover/failover-service.js';
import type { Counters } from '../../observability/counters.js';
import type { Logger } from '../../observability/logger.js';
import { onStatus } from '../../protocols/rtmp/commands.js';
import * as ctl from '../../protocols/rtmp/control.js';
import type { RtmpMessage } from '../../protocols/rtmp/message.js';
import {
  type ConnectRequest,
  type PlayRequest,
  RtmpServerSession,
  type StreamRequest,
} from '../../protocols/rtmp/server-session.js';
import { isValidStreamName } from '../names.js';
import { WritableSink } from '../socket-sink.js';
import { RtmpPlayer } from './player.js';

export interface ConnectionDeps {
  config: Config;
  registry: StreamRegistry;
  counters: Counters;
  log: Logger;
  policy: EgressPolicy;
  sessions: SessionTable;
  events: ServerEvents;
  access: AccessService;
  /** backup ingest routing */
  failover?: FailoverService;
  /** per-IP connection limits shared by every listener */
  limiter?: ConnectionLimiter;
  /** 'rtmps' on the TLS listener */
  protocol?: 'rtmp' | 'rtmps';
}

/** Like nginx-rtmp's max_streams: one connection cannot open an unbounded number of players. */
const MAX_STREAMS_PER_CONNECTION = 32;

interface Publishing {
  streamId: number;
  stream: Stream;
  ingest: Ingest;
  publisher: Publisher;
}

interface Playing {
  player: RtmpPlayer;
  stream: Stream;
}

/**
 * The connect URL's query (OBS: server `rtmp://host/live?token=...`) and the stream name's query together; the
 * stream's parameters win where both have one.
 */
function mergeQueries(connectQuery: string, streamQuery: string): string {
  if (!connectQuery) return streamQuery;
  const merged = new URLSearchParams(connectQuery);
  for (const [k, v] of new URLSearchParams(streamQuery)) merged.set(k, v);
  return merged.toString();
}

/** One RTMP TCP connection: socket <-> sans-I/O session <-> stream hub. Ends once, with one reason. */
export class RtmpConnection {
  readonly session: RtmpServerSession;
  private readonly sink: WritableSink;
  private app = '';
  private connectReq: ConnectRequest | undefined;
  private publishing: Publishing | undefined;
  private readonly playing = new Map<number, Playing>();
  private closed = false;
  private lastSeen = Date.now();
  private pingTimer: NodeJS.Timeout | undefined;
  private bitrateTimer: NodeJS.Timeout | undefined;
  private handshakeTimer: NodeJS.Timeout | undefined;
  private readonly startedAt = Date.now();
  private readonly protocol: 'rtmp' | 'rtmps';
  /** this connection in the session table (API, kicks, limits) */
  readonly info: Session;
  /** a publish or play waiting for its access decision (one at a time) */
  private deciding = false;
  private pending: IngestResult = { frames: [] };
  private resolveDone!: (reason: string) => void;
  readonly done: Promise<string> = new Promise((r) => {
    this.resolveDone = r;
  });

  constructor(
    readonly id: string,
    private readonly socket: Socket,
    private readonly deps: ConnectionDeps,
  ) {
    const rtmp = deps.config.rtmp;
    this.protocol = deps.protocol ?? 'rtmp';
    this.info = {
      id,
      protocol: this.protocol,
      ip: socket.remoteAddress ?? '',
      startedAt: this.startedAt,
      role: 'connected',
      bytesIn: () => socket.bytesRead,
      bytesOut: () => socket.bytesWritten,
      kick: (reason) => this.close(reason),
    };
    deps.sessions.add(this.info);
    this.sink = new WritableSink(socket, () => this.onDrain());
    this.session = new RtmpServerSession({
      outChunkSize: rtmp.outChunkSize,
      windowAckSize: rtmp.windowAckSize,
      limits: { maxMessageBytes: rtmp.maxMessageBytes },
      send: (b) => this.sendControl(b),
      handler: {
        onHandshakeDone: (mode) => deps.log.debug({ id, mode }, 'handshake done'),
        onConnect: (req) => this.onConnect(req),
        onPublish: (req) => this.onPublish(req),
        onPlay: (req) => this.onPlay(req),
        onMedia: (msg) => this.onMedia(msg),
        onStreamClosed: (sid) => this.onStreamClosed(sid),
        onPause: (sid, paused) => this.playing.get(sid)?.player.setPaused(paused),
        onReceive: (sid, kind, enabled) => this.onReceive(sid, kind, enabled),
        onUnknownCommand: (name) => deps.log.debug({ id, command: name }, 'unknown command ignored'),
      },
    });
    socket.setNoDelay(true);
    socket.on('data', (b: Buffer) => this.onData(b));
    socket.on('error', (err) =>
      this.close(`socket-error:${(err as NodeJS.ErrnoException).code ?? 'unknown'}`),
    );
    socket.on('close', () => this.close('peer-closed'));
    socket.on('end', () => this.close('peer-closed'));
    this.handshakeTimer = setTimeout(() => {
      if (!this.connectReq) this.close('RTMP_HANDSHAKE_TIMEOUT');
    }, rtmp.handshakeTimeoutMs);
    if (rtmp.pingIntervalMs > 0) {
      this.pingTimer = setInterval(() => this.checkAlive(), Math.min(rtmp.pingIntervalMs, 5_000));
    }
  }

  private sendControl(b: Buffer): void {
    if (this.closed) return;
    // a player's control messages must stay in order with its media
    const first = this.playing.values().next().value as Playing | undefined;
    if (first) first.player.egress.pushRaw(b);
    else this.socket.write(b);
  }

  private onDrain(): void {
    for (const p of this.playing.values()) p.player.egress.flush();
    if (this.socket.isPaused() && !this.closed) this.socket.resume();
  }

  private checkAlive(): void {
    const { pingIntervalMs, pingTimeoutMs } = this.deps.config.rtmp;
    const silent = Date.now() - this.lastSeen;
    if (pingTimeoutMs > 0 && silent > pingTimeoutMs) return this.close('ping-timeout');
    if (silent >= pingIntervalMs && this.connectReq) this.session.ping((Date.now() - this.startedAt) >>> 0);
  }

  private onData(b: Buffer): void {
    if (this.closed) return;
    this.lastSeen = Date.now();
    try {
      this.session.push(b);
    } catch (err) {
      this.pending = { frames: [] };
      this.close(errorCode(err), err);
      return;
    }
    this.flushIngest();
    // a peer that sends commands but never reads our replies: stop reading it until it drains;
    // if it never does, it falls silent to us and the ping timeout ends it
    if (this.socket.writableLength > this.deps.config.egress.maxQueueBytes) this.socket.pause();
  }

  /** Everything one socket read produced goes to the stream in one batch: one write per player. */
  private flushIngest(): void {
    const p = this.publishing;
    const out = this.pending;
    if (!p || (out.frames.length === 0 && !out.metadata)) return;
    this.pending = { frames: [] };
    if (out.metadata) p.stream.setMetadata(out.metadata);
    p.stream.write(out.frames);
  }

  private onConnect(req: ConnectRequest): string | undefined {
    // own properties only: "constructor" or "__proto__" are not apps
    const app = Object.hasOwn(this.deps.config.apps, req.app) ? this.deps.config.apps[req.app] : undefined;
    if (!app) {
      this.deps.counters.inc('connect_rejected', 'unknown-app');
      this.deps.log.info({ id: this.id, app: req.app }, 'connect rejected: unknown app');
      setImmediate(() => this.close('unknown-app'));
      return `Unknown application "${req.app}"`;
    }
    clearTimeout(this.handshakeTimer);
    this.app = req.app;
    this.info.app = req.app;
    this.connectReq = req;
    this.emit('connect');
    return undefined;
  }

  private emit(
    type: 'connect' | 'publish' | 'unpublish' | 'play' | 'stop',
    name?: string,
    reason?: string,
  ): void {
    this.deps.events.emit({
      type,
      sessionId: this.id,
      protocol: this.protocol,
      ip: this.info.ip,
      app: this.app,
      name,
      reason,
    });
  }

  /**
   * Asks the access service, then continues with the name it allows, or answers `deniedCode` and closes. The
   * client gets no answer until the decision (a webhook may take a while): Publish.Start only after a yes.
   */
  private withAccess(
    action: 'publish' | 'play',
    req: StreamRequest,
    deniedCode: string,
    then: (name: string) => void,
  ): void {
    this.deciding = true;
    void this.deps.access
      .check({
        action,
        protocol: this.protocol,
        sessionId: this.id,
        app: this.app,
        name: req.name,
        query: mergeQueries(this.connectReq?.query ?? '', req.query),
        ip: this.info.ip,
      })
      .then((answer) => {
        this.deciding = false;
        if (this.closed) return;
        if (answer.ok) return then(answer.name);
        this.publishStatus(req.streamId, 'error', deniedCode, `${action} denied: ${answer.reason}`);
        setTimeout(() => this.close(`${action}-denied`), 100).unref();
      });
  }

  private publishStatus(sid: number, level: 'status' | 'error', code: string, desc: string): void {
    this.session.sendMessages([onStatus(sid, level, code, desc)]);
  }

  private onPublish(req: StreamRequest & { type: string }): void {
    if (this.publishing || this.deciding)
      return this.publishStatus(req.streamId, 'error', 'NetStream.Publish.BadName', 'Already publishing');
    if (!isValidStreamName(req.name)) {
      this.deps.counters.inc('publish_rejected', 'bad-name');
      return this.publishStatus(req.streamId, 'error', 'NetStream.Publish.BadName', `Invalid stream name`);
    }
    this.withAccess('publish', req, 'NetStream.Publish.Denied', (name) =>
      this.startPublishing(req.streamId, name, req.query),
    );
  }

  private startPublishing(streamId: number, name: string, query: string): void {
    const publisher: Publisher = {
      id: this.id,
      protocol: this.protocol,
      remoteAddress: this.info.ip,
      kick: (reason) => this.close(reason),
    };
    // backup ingest apps: the publisher feeds `<name>@primary` or `<name>@backup`, players watch `<name>`
    const target = this.deps.failover?.route(this.app, name, query) ?? name;
    const claim = this.deps.registry.claim(this.app, target, publisher);
    if (!claim.ok) {
      const busy = claim.reason === 'busy';
      this.deps.log.info(
        { id: this.id, path: `${this.app}/${name}`, reason: claim.reason },
        'publish rejected',
      );
      if (busy) {
        this.publishStatus(
          streamId,
          'error',
          'NetStream.Publish.BadName',
          `${name} is already being published`,
        );
      } else
        this.publishStatus(streamId, 'error', 'NetStream.Publish.Denied', 'Too many streams on this server');
      setTimeout(() => this.close(busy ? 'publish-busy' : claim.reason), 100).unref();
      return;
    }
    this.publishing = { streamId, stream: claim.stream, ingest: new Ingest(claim.stream), publisher };
    this.info.role = 'publisher';
    this.info.name = name;
    this.session.sendMessages([ctl.userControl(ctl.UserControlEvent.StreamBegin, streamId)]);
    this.publishStatus(streamId, 'status', 'NetStream.Publish.Start', `${name} is now published.`);
    this.deps.registry.announce(claim.stream);
    this.deps.log.info(
      { id: this.id, path: claim.stream.path, ip: publisher.remoteAddress },
      'publish start',
    );
    this.emit('publish', name);
    this.watchIngestBitrate();
  }

  /** limits.maxIngestKbps: measured over each window from the bytes this socket read */
  private watchIngestBitrate(): void {
    const { maxIngestKbps, ingestWindowMs, ingestOverLimit } = this.deps.config.limits;
    if (maxIngestKbps <= 0) return;
    let at = Date.now();
    let bytes = this.socket.bytesRead;
    let strikes = 0;
    this.bitrateTimer = setInterval(() => {
      const now = Date.now();
      const kbps = ((this.socket.bytesRead - bytes) * 8) / Math.max(1, now - at);
      at = now;
      bytes = this.socket.bytesRead;
      if (kbps <= maxIngestKbps) {
        strikes = 0;
        return;
      }
      strikes++;
      this.deps.counters.inc('ingest_over_limit', ingestOverLimit);
      this.deps.log.warn(
        { id: this.id, path: `${this.app}/${this.info.name}`, kbps: Math.round(kbps), limit: maxIngestKbps },
        'ingest bitrate over the limit',
      );
      if (ingestOverLimit === 'disconnect' && strikes >= 2) this.close('ingest-bitrate-limit');
    }, ingestWindowMs);
    this.bitrateTimer.unref();
  }

  private onMedia(msg: RtmpMessage): void {
    const p = this.publishing;
    if (!p) return; // media without publish: ignored
    p.ingest.accept(msg, this.pending);
  }

  private onPlay(req: PlayRequest): void {
    const sid = req.streamId;
    if (this.playing.has(sid) || this.deciding) return;
    if (this.playing.size >= MAX_STREAMS_PER_CONNECTION) {
      this.deps.counters.inc('play_rejected', 'too-many-streams');
      this.publishStatus(sid, 'error', 'NetStream.Play.Failed', 'Too many streams on one connection');
      setImmediate(() => this.close('too-many-streams'));
      return;
    }
    if (!isValidStreamName(req.name)) {
      this.deps.counters.inc('play_rejected', 'bad-name');
      return this.publishStatus(sid, 'error', 'NetStream.Play.StreamNotFound', 'Invalid stream name');
    }
    this.withAccess('play', req, 'NetStream.Play.Failed', (name) => this.startPlaying(req, name));
  }

  private startPlaying(req: PlayRequest, name: string): void {
    const sid = req.streamId;
    if (this.deps.registry.playerCount(this.app, name) >= this.deps.config.limits.maxPlayersPerStream) {
      this.deps.counters.inc('play_rejected', 'max-players');
      this.publishStatus(sid, 'error', 'NetStream.Play.Failed', 'Too many players on this stream');
      setTimeout(() => this.close('max-players'), 100).unref();
      return;
    }
    let stream: Stream | undefined;
    const player = new RtmpPlayer({
      id: this.id,
      streamId: sid,
      name,
      chunkSize: this.session.chunkSize,
      fourCcList: this.connectReq?.fourCcList ?? [],
      reset: req.reset,
      policy: this.deps.policy,
      counters: this.deps.counters,
      sink: this.sink,
      hasVideo: () => stream?.gop.hasVideo ?? true,
      onEnd: (reason) => this.onPlayerEnd(sid, reason),
    });
    stream = this.deps.registry.subscribe(this.app, name, player);
    this.playing.set(sid, { player, stream });
    if (this.info.role !== 'publisher') this.info.role = 'player';
    this.info.name ??= name;
    this.deps.log.info({ id: this.id, path: stream.path, ip: this.info.ip }, 'play');
    this.emit('play', name);
  }

  private onPlayerEnd(sid: number, reason: string): void {
    const p = this.playing.get(sid);
    if (!p) return;
    if (reason === 'slow-consumer') {
      this.deps.counters.inc('players_disconnected', 'slow-consumer');
      this.close('slow-consumer');
      return;
    }
    this.playing.delete(sid);
    this.deps.registry.unsubscribe(p.stream, p.player);
    this.emit('stop', p.stream.name, reason);
    // a player whose stream is over is let go after its last bytes are out (ffmpeg exits on UnpublishNotify)
    p.player.egress.flush();
    setTimeout(() => this.close(reason === 'not-found' ? 'stream-not-found' : reason), 200).unref();
  }

  private onReceive(sid: number, kind: 'audio' | 'video', enabled: boolean): void {
    const p = this.playing.get(sid);
    if (!p) return;
    if (kind === 'audio') p.player.receiveAudio = enabled;
    else {
      if (enabled && !p.player.receiveVideo) p.player.egress.resumeAtKeyframe();
      p.player.receiveVideo = enabled;
    }
  }

  private onStreamClosed(sid: number): void {
    if (this.publishing && this.publishing.streamId === sid) {
      this.flushIngest();
      this.endPublishing();
      this.publishStatus(sid, 'status', 'NetStream.Unpublish.Success', 'Stopped publishing.');
    }
    const p = this.playing.get(sid);
    if (p) {
      this.playing.delete(sid);
      this.deps.registry.unsubscribe(p.stream, p.player);
      this.emit('stop', p.stream.name, 'closed-stream');
    }
  }

  private endPublishing(reason = 'unpublished'): void {
    const p = this.publishing;
    if (!p) return;
    this.publishing = undefined;
    clearInterval(this.bitrateTimer);
    this.deps.registry.release(p.stream, p.publisher);
    this.deps.log.info({ id: this.id, path: p.stream.path, frames: p.stream.framesIn }, 'publish stop');
    this.emit('unpublish', p.stream.name, reason);
  }

  /** Ends the connection once; logs one `closed` line with the reason. */
  close(reason: string, err?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    clearInterval(this.pingTimer);
    clearInterval(this.bitrateTimer);
    this.endPublishing(reason);
    for (const p of this.playing.values()) {
      this.deps.registry.unsubscribe(p.stream, p.player);
      this.emit('stop', p.stream.name, reason);
    }
    this.playing.clear();
    this.deps.sessions.remove(this.id);
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
    const level = reason === 'peer-closed' ? 'info' : 'warn';
    this.deps.counters.inc('rtmp_connections_closed', reason);
    this.deps.log[level](
      {
        id: this.id,
        ip: this.info.ip,
        protocol: this.protocol,
        role: this.info.role,
        app: this.app || undefined,
        stream: this.info.name,
        bytesIn: this.socket.bytesRead,
        bytesOut: this.socket.bytesWritten,
        durationMs: Date.now() - this.startedAt,
        reason,
        err: err instanceof Error ? err.message : undefined,
      },
      `closed: ${reason}`,
    );
    this.resolveDone(reason);
  }
}
