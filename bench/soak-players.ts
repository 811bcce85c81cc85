/**
 * The soak test's players: an RTMP player (the project's RtmpClient), an HTTP-FLV reader (a raw socket counting
 * bytes) and an HLS player (playlist + newest segment every second over one keep-alive connection, the HLS
 * benchmark's HttpConn). Each counts what it received and ends once, either because the soak told it to leave
 * (`close()`) or because the server ended it (the churned stream went away, or an error).
 */
import { connect, type Socket } from 'node:net';
import { parseRtmpUrl, RtmpClient } from '../src/servers/rtmp/rtmp-client.js';
import { HttpConn } from './hls-client.js';

export type PlayerKind = 'rtmp' | 'http-flv' | 'hls';

export interface SoakTarget {
  host: string;
  rtmpPort: number;
  httpPort: number;
  app: string;
}

export interface SoakPlayer {
  readonly kind: PlayerKind;
  readonly stream: string;
  /** media bytes received */
  bytes: number;
  /** set once it ended: 'left' (closed by the soak) or why the server or network ended it */
  endReason: string | undefined;
  /** failed requests or refused plays while it lived (HLS: per request) */
  errors: number;
  close(): void;
}

type OnEnd = (p: SoakPlayer) => void;

abstract class Base implements SoakPlayer {
  bytes = 0;
  endReason: string | undefined;
  errors = 0;

  constructor(
    readonly kind: PlayerKind,
    readonly stream: string,
    private readonly onEnd: OnEnd,
  ) {}

  protected end(reason: string): void {
    if (this.endReason !== undefined) return;
    this.endReason = reason;
    this.release();
    this.onEnd(this);
  }

  close(): void {
    this.end('left');
  }

  protected abstract release(): void;
}

class RtmpPlayer extends Base {
  private readonly client: RtmpClient;

  constructor(t: SoakTarget, stream: string, onEnd: OnEnd) {
    super('rtmp', stream, onEnd);
    this.client = new RtmpClient(parseRtmpUrl(`rtmp://${t.host}:${t.rtmpPort}/${t.app}/${stream}`), {
      onMedia: (m) => {
        this.bytes += m.payload.length;
      },
      onClose: () => this.end('closed'),
    });
    this.client
      .connectApp()
      .then(() => this.client.play())
      .then((code) => {
        if (code !== 'NetStream.Play.Start') {
          this.errors++;
          this.end(code);
        }
      })
      .catch((e: Error) => {
        if (this.endReason === undefined) this.errors++;
        this.end(`error:${e.message}`);
      });
  }

  protected release(): void {
    this.client.close();
  }
}

class HttpFlvPlayer extends Base {
  private readonly socket: Socket;
  private head = '';
  private status = 0;

  constructor(t: SoakTarget, stream: string, onEnd: OnEnd) {
    super('http-flv', stream, onEnd);
    this.socket = connect({ host: t.host, port: t.httpPort, noDelay: true });
    this.socket.on('connect', () =>
      this.socket.write(`GET /${t.app}/${stream}.flv HTTP/1.1\r\nHost: ${t.host}:${t.httpPort}\r\n\r\n`),
    );
    this.socket.on('data', (d: Buffer) => {
      if (this.status === 0) {
        this.head += d.toString('latin1');
        const end = this.head.indexOf('\r\n\r\n');
        if (end < 0) return;
        this.status = Number(this.head.slice(9, 12));
        if (this.status !== 200) {
          this.errors++;
          this.end(`status-${this.status}`);
          return;
        }
        this.bytes += this.head.length - end - 4;
        this.head = '';
        return;
      }
      this.bytes += d.length;
    });
    this.socket.on('error', (e: NodeJS.ErrnoException) => this.end(`error:${e.code ?? e.message}`));
    this.socket.on('close', () => this.end('closed'));
  }

  protected release(): void {
    this.socket.destroy();
  }
}

class HlsPlayer extends Base {
  private readonly conn: HttpConn;
  private timer: NodeJS.Timeout | undefined;
  private lastSegment = '';
  private haveInit = false;
  private readonly base: string;
  requests = 0;

  constructor(t: SoakTarget, stream: string, onEnd: OnEnd) {
    super('hls', stream, onEnd);
    this.base = `/${t.app}/${stream}`;
    this.conn = new HttpConn(t.host, t.httpPort, 10_000);
    this.poll();
  }

  private poll(): void {
    if (this.endReason !== undefined) return;
    this.requests++;
    this.conn.get(`${this.base}/index.m3u8`, true, (r) => {
      if (this.endReason !== undefined) return;
      if (r.status !== 200) {
        // 404 while the churned stream is between publishers; anything else is an error
        if (r.status !== 404) this.errors++;
        return this.later();
      }
      const text = r.body?.toString('utf8') ?? '';
      const segs = text.match(/^[^#\s].*\.(?:m4s|ts)$/gm) ?? [];
      const newest = segs[segs.length - 1];
      const next = !this.haveInit && /#EXT-X-MAP:URI="([^"]+)"/.exec(text)?.[1];
      if (next) {
        return this.fetch(next, () => {
          this.haveInit = true;
        });
      }
      if (newest && newest !== this.lastSegment) {
        return this.fetch(newest, () => {
          this.lastSegment = newest;
        });
      }
      this.later();
    });
  }

  private fetch(file: string, ok: () => void): void {
    this.requests++;
    this.conn.get(`${this.base}/${file}`, false, (r) => {
      if (this.endReason !== undefined) return;
      if (r.status === 200) {
        this.bytes += r.bytes;
        ok();
        // the init segment is followed at once by the playlist's newest segment
        if (!this.lastSegment) return this.poll();
      } else if (r.status !== 404) this.errors++;
      this.later();
    });
  }

  private later(): void {
    this.timer = setTimeout(() => this.poll(), 1000);
  }

  protected release(): void {
    clearTimeout(this.timer);
    this.conn.close();
  }
}

export function startPlayer(kind: PlayerKind, t: SoakTarget, stream: string, onEnd: OnEnd): SoakPlayer {
  if (kind === 'rtmp') return new RtmpPlayer(t, stream, onEnd);
  if (kind === 'http-flv') return new HttpFlvPlayer(t, stream, onEnd);
  return new HlsPlayer(t, stream, onEnd);
}
