import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { AmfObject } from '../../formats/amf/types.js';
import { RtmpClientSession } from '../../protocols/rtmp/client-session.js';
import type { RtmpMessage } from '../../protocols/rtmp/message.js';

export interface RtmpUrl {
  host: string;
  port: number;
  app: string;
  name: string;
  tcUrl: string;
  /** rtmps:// (RTMP inside TLS) */
  secure?: boolean;
}

/**
 * rtmp[s]://host[:port]/app/name -> parts (app may contain '/', as ffmpeg splits it: protocol brief §1.5).
 * rtmps:// defaults to port 443 (CDN ingests), rtmp:// to 1935.
 */
export function parseRtmpUrl(url: string): RtmpUrl {
  const u = new URL(url);
  if (u.protocol !== 'rtmp:' && u.protocol !== 'rtmps:') throw new Error(`not an rtmp:// URL: ${url}`);
  const secure = u.protocol === 'rtmps:';
  const parts = u.pathname.replace(/^\/+/, '').split('/');
  const name = parts.pop() ?? '';
  const app = parts.join('/');
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : secure ? 443 : 1935,
    app,
    name: name + u.search,
    tcUrl: `${u.protocol}//${u.host}/${app}`,
    secure,
  };
}

export interface RtmpClientEvents {
  onMedia?: (msg: RtmpMessage) => void;
  onStatus?: (info: AmfObject) => void;
  onClose?: () => void;
}

export interface RtmpClientOptions {
  digest?: boolean;
  /** chunk size announced and sent with after the handshake (default 4096) */
  outChunkSize?: number;
  /** rtmps:// only: certificate checks (default: verify against the system CAs) */
  tls?: { rejectUnauthorized?: boolean; ca?: string | Buffer };
}

/** A minimal RTMP client over a TCP socket: connect, then play or publish one stream. */
export class RtmpClient {
  readonly session: RtmpClientSession;
  private readonly socket: Socket;
  private readonly ready: Promise<void>;
  readonly statuses: AmfObject[] = [];

  constructor(
    private readonly url: RtmpUrl,
    private readonly events: RtmpClientEvents = {},
    opts: RtmpClientOptions = {},
  ) {
    let onReady!: () => void;
    let onFail!: (e: Error) => void;
    this.ready = new Promise<void>((res, rej) => {
      onReady = res;
      onFail = rej;
    });
    this.socket = url.secure
      ? tlsConnect({
          host: url.host,
          port: url.port,
          servername: isIP(url.host) ? undefined : url.host,
          rejectUnauthorized: opts.tls?.rejectUnauthorized ?? true,
          ca: opts.tls?.ca,
        })
      : connect({ host: url.host, port: url.port, noDelay: true });
    if (url.secure) this.socket.setNoDelay(true);
    this.session = new RtmpClientSession({
      digest: opts.digest,
      outChunkSize: opts.outChunkSize,
      send: (b) => this.socket.write(b),
      handler: {
        onReady: () => onReady(),
        onStatus: (info) => {
          this.statuses.push(info);
          events.onStatus?.(info);
        },
        onMedia: (m) => events.onMedia?.(m),
      },
    });
    this.socket.on(url.secure ? 'secureConnect' : 'connect', () => this.session.start());
    this.socket.on('data', (b: Buffer) => {
      try {
        this.session.push(b);
      } catch (err) {
        this.socket.destroy(err as Error);
      }
    });
    this.socket.on('error', (err) => {
      onFail(err);
      this.session.failAll(err);
    });
    this.socket.on('close', () => {
      onFail(new Error('closed'));
      this.session.failAll(new Error('connection closed'));
      events.onClose?.();
    });
  }

  async connectApp(extra: AmfObject = {}): Promise<AmfObject> {
    await this.ready;
    const info = await this.session.connect(this.url.app, this.url.tcUrl, extra);
    await this.session.createStream();
    return info;
  }

  /** Resolves with the first onStatus code after play (Play.Start, Play.StreamNotFound, ...). */
  async play(start = -1000): Promise<string> {
    const first = this.nextStatus((c) => c.startsWith('NetStream.Play.') && c !== 'NetStream.Play.Reset');
    this.session.play(this.url.name, start);
    return first;
  }

  async publish(): Promise<string> {
    const first = this.nextStatus((c) => c.startsWith('NetStream.Publish.'));
    this.session.publish(this.url.name);
    return first;
  }

  nextStatus(match: (code: string) => boolean): Promise<string> {
    return new Promise((resolve, reject) => {
      const prev = this.events.onStatus;
      this.events.onStatus = (info) => {
        prev?.(info);
        const code = String(info.code);
        if (match(code)) {
          this.events.onStatus = prev;
          resolve(code);
        }
      };
      this.socket.once('close', () => reject(new Error('closed before status')));
    });
  }

  sendMedia(type: 8 | 9 | 18, timestamp: number, payload: Buffer): boolean {
    this.session.send({
      csid: type === 18 ? 5 : type === 8 ? 4 : 6,
      type,
      streamId: this.session.streamId,
      timestamp,
      payload,
    });
    return !this.socket.writableNeedDrain;
  }

  get rawSocket(): Socket {
    return this.socket;
  }

  close(): void {
    this.socket.destroy();
  }
}
