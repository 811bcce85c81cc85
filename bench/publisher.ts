/**
 * The paced publisher: reads an FLV file with FlvReader and publishes it in real time over the project's
 * RtmpClient, looping with monotonic timestamps. Every coded video frame's send time is reported with its
 * payload key (the same key the players compute), for end-to-end latency matching.
 */
import { readFileSync } from 'node:fs';
import { FlvReader, type FlvTag } from '../src/formats/flv/flv-reader.js';
import { parseRtmpUrl, RtmpClient } from '../src/servers/rtmp/rtmp-client.js';
import { frameKey, KEY_PREFIX_BYTES, nowMs } from './stats.js';

export interface MediaFile {
  tags: FlvTag[];
  /** ms from the first to the last tag plus one video frame interval */
  durationMs: number;
  /** bits per second of tag bodies */
  bitrate: number;
  videoFrames: number;
  /** video frames whose key equals an earlier frame's key (must be 0 for exact matching) */
  keyCollisions: number;
}

const SET_DATA_FRAME = Buffer.from([0x02, 0x00, 0x0d, ...Buffer.from('@setDataFrame')]);

function isSequenceHeader(t: FlvTag): boolean {
  if (t.type === 9) return (t.body[0] & 0x0f) === 7 && t.body[1] === 0;
  if (t.type === 8) return t.body[0] >>> 4 === 10 && t.body[1] === 0;
  return false;
}

function videoKey(body: Buffer): number {
  return frameKey(body, Math.min(KEY_PREFIX_BYTES, body.length), body.length);
}

export function loadMedia(file: string): MediaFile {
  const reader = new FlvReader();
  const tags = reader.push(readFileSync(file));
  reader.end();
  const keys = new Set<number>();
  let collisions = 0;
  let videoFrames = 0;
  let bytes = 0;
  for (const t of tags) {
    bytes += t.body.length;
    if (t.type !== 9 || isSequenceHeader(t)) continue;
    videoFrames++;
    const k = videoKey(t.body);
    if (keys.has(k)) collisions++;
    keys.add(k);
  }
  const last = tags.length ? tags[tags.length - 1].timestamp : 0;
  const first = tags.length ? tags[0].timestamp : 0;
  const durationMs = last - first + 33;
  return {
    tags,
    durationMs,
    bitrate: (bytes * 8 * 1000) / durationMs,
    videoFrames,
    keyCollisions: collisions,
  };
}

export class Publisher {
  private client: RtmpClient | undefined;
  private timer: NodeJS.Timeout | undefined;
  private startedAt = 0;
  private index = 0;
  private loop = 0;
  /** latest due time so far: FLV interleaving puts some tags a few ms behind the previous one */
  private lastDue = 0;
  private stopped = false;
  /** frames whose socket write returned false (the server did not keep up with the publisher) */
  congestedWrites = 0;
  videoSent = 0;
  /** how late (ms) the pacing timer fired at worst: the publisher's own event-loop delay */
  maxLateMs = 0;

  constructor(
    private readonly url: string,
    private readonly media: MediaFile,
    /** called with [key, sendTime] of every coded video frame, once per pacing tick */
    private readonly onSent: (frames: [number, number][]) => void,
  ) {}

  async start(): Promise<void> {
    const client = new RtmpClient(parseRtmpUrl(this.url), {
      onClose: () => {
        if (!this.stopped) console.error('publisher: connection closed by the server');
      },
    });
    this.client = client;
    await client.connectApp();
    const code = await client.publish();
    if (code !== 'NetStream.Publish.Start') throw new Error(`publish refused: ${code}`);
    this.startedAt = nowMs();
    this.tick();
  }

  private tick(): void {
    if (this.stopped || !this.client) return;
    const { tags, durationMs } = this.media;
    const base = tags[0].timestamp;
    const now = nowMs();
    const sent: [number, number][] = [];
    for (;;) {
      if (this.index >= tags.length) {
        this.index = 0;
        this.loop++;
      }
      const tag = tags[this.index];
      const ts = tag.timestamp - base + this.loop * durationMs;
      const due = this.startedAt + ts;
      if (due > now) {
        this.timer = setTimeout(() => this.tick(), Math.max(0, due - nowMs()));
        break;
      }
      this.index++;
      this.lastDue = Math.max(this.lastDue, due);
      this.maxLateMs = Math.max(this.maxLateMs, now - this.lastDue);
      if (this.loop > 0 && (tag.type === 18 || isSequenceHeader(tag))) continue; // configuration: once
      const body = tag.type === 18 ? Buffer.concat([SET_DATA_FRAME, tag.body]) : tag.body;
      const sentAt = nowMs(); // before the write: on loopback a fast server can deliver before write() returns
      const ok = this.client.sendMedia(tag.type as 8 | 9 | 18, ts, body);
      if (!ok) this.congestedWrites++;
      if (tag.type === 9 && !isSequenceHeader(tag)) {
        this.videoSent++;
        sent.push([videoKey(tag.body), sentAt]);
      }
    }
    if (sent.length) this.onSent(sent);
  }

  /** Starts a measured window: lateness is tracked from here. */
  resetLateness(): void {
    this.maxLateMs = 0;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.client?.close();
  }
}
