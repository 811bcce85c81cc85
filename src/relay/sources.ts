import http from 'node:http';
import https from 'node:https';
import type { IngestMessage } from '../core/ingest.js';
import { errorCode } from '../errors.js';
import { FlvReader } from '../formats/flv/flv-reader.js';
import { parseRtmpUrl, RtmpClient } from '../servers/rtmp/rtmp-client.js';
import { hostOf, sourceKind } from './urls.js';

/**
 * Where a pull's media comes from: an RTMP(S) play or an HTTP(S)-FLV download. Both deliver the messages of
 * one socket read together (one Stream.write per read, as an RTMP publisher does) and end once, with a reason.
 */

export interface SourceEvents {
  /** audio/video/data messages of one read, in order */
  onMessages(msgs: IngestMessage[]): void;
  /** the source ended by itself (not after close()); called once */
  onEnd(reason: string): void;
}

export interface SourceOptions {
  tls: { rejectUnauthorized: boolean; ca?: Buffer };
  /** connect (+ RTMP connect/createStream, or the HTTP response head) must finish within this */
  connectTimeoutMs: number;
}

export interface RelaySource {
  readonly remoteAddress: string;
  bytesIn(): number;
  /** stop without an onEnd */
  close(): void;
}

export function openSource(url: string, events: SourceEvents, opts: SourceOptions): RelaySource {
  return sourceKind(url) === 'http-flv'
    ? new HttpFlvSource(url, events, opts)
    : new RtmpSource(url, events, opts);
}

/** Play statuses after which no media will come on this connection. */
const ENDING_STATUS: Record<string, string> = {
  'NetStream.Play.StreamNotFound': 'not-found',
  'NetStream.Play.Failed': 'play-failed',
  'NetStream.Play.Stop': 'unpublished',
  'NetStream.Play.UnpublishNotify': 'unpublished',
};

class RtmpSource implements RelaySource {
  readonly remoteAddress: string;
  private readonly client: RtmpClient;
  private batch: IngestMessage[] = [];
  private done = false;
  private socketError: string | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    url: string,
    private readonly events: SourceEvents,
    opts: SourceOptions,
  ) {
    this.remoteAddress = hostOf(url);
    this.client = new RtmpClient(
      parseRtmpUrl(url),
      {
        onMedia: (m) => {
          this.batch.push({ type: m.type, timestamp: m.timestamp, payload: m.payload });
          // every message of this socket read, delivered after the read is decoded
          if (this.batch.length === 1) queueMicrotask(() => this.flush());
        },
        onStatus: (info) => {
          const reason = ENDING_STATUS[String(info.code)];
          if (reason) this.end(reason);
        },
        onClose: () => this.end(this.socketError ?? 'peer-closed'),
      },
      { tls: opts.tls },
    );
    this.client.rawSocket.on('error', (err) => {
      this.socketError = `socket-error:${errorCode(err)}`;
    });
    this.timer = setTimeout(() => this.end('connect-timeout'), opts.connectTimeoutMs);
    void this.run();
  }

  private async run(): Promise<void> {
    try {
      await this.client.connectApp();
      clearTimeout(this.timer);
      // the outcome arrives as onStatus (or as media): a Tidecast origin answers only once the stream is live
      this.client.play().catch(() => {});
    } catch (err) {
      this.end(this.socketError ?? (err instanceof Error ? err.message : 'connect-failed'));
    }
  }

  private flush(): void {
    const msgs = this.batch;
    this.batch = [];
    if (!this.done && msgs.length > 0) this.events.onMessages(msgs);
  }

  private end(reason: string): void {
    if (this.done) return;
    this.flush();
    this.done = true;
    clearTimeout(this.timer);
    this.client.close();
    this.events.onEnd(reason);
  }

  bytesIn(): number {
    return this.client.rawSocket.bytesRead;
  }

  close(): void {
    this.done = true;
    clearTimeout(this.timer);
    this.client.close();
  }
}

class HttpFlvSource implements RelaySource {
  readonly remoteAddress: string;
  private readonly req: http.ClientRequest;
  private readonly reader = new FlvReader();
  private done = false;
  private bytes = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    url: string,
    private readonly events: SourceEvents,
    opts: SourceOptions,
  ) {
    this.remoteAddress = hostOf(url);
    const secure = url.toLowerCase().startsWith('https:');
    const options: https.RequestOptions = {
      agent: false,
      headers: { 'User-Agent': 'tidecast-relay', Accept: 'video/x-flv' },
    };
    if (secure) {
      options.rejectUnauthorized = opts.tls.rejectUnauthorized;
      if (opts.tls.ca) options.ca = opts.tls.ca;
    }
    const get = secure ? https.get : http.get;
    this.req = get(url, options, (res) => this.onResponse(res));
    this.req.on('error', (err) => this.end(`socket-error:${errorCode(err)}`));
    this.timer = setTimeout(() => this.end('connect-timeout'), opts.connectTimeoutMs);
  }

  private onResponse(res: http.IncomingMessage): void {
    clearTimeout(this.timer);
    if (res.statusCode !== 200) {
      res.resume();
      return this.end(res.statusCode === 404 ? 'not-found' : `http-${res.statusCode}`);
    }
    res.on('data', (chunk: Buffer) => {
      if (this.done) return;
      this.bytes += chunk.length;
      let tags: ReturnType<FlvReader['push']>;
      try {
        tags = this.reader.push(chunk);
      } catch (err) {
        return this.end(errorCode(err));
      }
      const msgs: IngestMessage[] = [];
      for (const t of tags) {
        if (t.type === 8 || t.type === 9 || t.type === 18)
          msgs.push({ type: t.type, timestamp: t.timestamp, payload: t.body });
      }
      if (msgs.length > 0) this.events.onMessages(msgs);
    });
    res.on('end', () => this.end('peer-closed'));
    res.on('close', () => this.end('peer-closed'));
    res.on('error', (err) => this.end(`socket-error:${errorCode(err)}`));
  }

  private end(reason: string): void {
    if (this.done) return;
    this.done = true;
    clearTimeout(this.timer);
    this.req.destroy();
    this.events.onEnd(reason);
  }

  bytesIn(): number {
    return this.bytes;
  }

  close(): void {
    this.done = true;
    clearTimeout(this.timer);
    this.req.destroy();
  }
}
