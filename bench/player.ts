/**
 * The load generator's RTMP player: simple handshake, connect / createStream / play, then a chunk scanner
 * that follows chunk headers without reassembling media. Audio and video payloads are never copied; of a
 * video message only its first KEY_PREFIX_BYTES bytes are kept, to key the frame for latency matching.
 * Control and command messages (small) are reassembled and handled: Set Chunk Size, Window Ack Size
 * (we acknowledge), Ping (we answer), _result and onStatus.
 *
 * Sockets use `onread` with one buffer shared by every player of the process (no allocation per read).
 */
import { connect, type Socket } from 'node:net';
import { decodeAmf0 } from '../src/formats/amf/amf0.js';
import { encodeMessages } from '../src/protocols/rtmp/chunk-encoder.js';
import { command, isObject, parseCommand } from '../src/protocols/rtmp/commands.js';
import * as ctl from '../src/protocols/rtmp/control.js';
import type { RtmpMessage } from '../src/protocols/rtmp/message.js';
import { frameKey, KEY_PREFIX_BYTES, nowMs } from './stats.js';

export interface PlayerTarget {
  host: string;
  port: number;
  app: string;
  name: string;
}

export interface PlayerEvents {
  /** a coded video frame (not a sequence header) completed; key identifies its payload */
  onVideo(p: Player, key: number, keyframe: boolean, at: number): void;
  onEnd(p: Player, reason: string): void;
}

const HS_SIZE = 1536;
const shared = Buffer.allocUnsafe(256 * 1024);

interface ChunkStream {
  type: number;
  length: number;
  ext: boolean;
  /** bytes of the current message still to come; 0 between messages */
  left: number;
  /** reassembly buffer for control/command messages */
  msg: Buffer | null;
  /** prefix of the current video message */
  prefix: Buffer | null;
  plen: number;
}

export class Player {
  private socket: Socket | undefined;
  private hs: Buffer | null = Buffer.allocUnsafe(1 + 2 * HS_SIZE);
  private hsGot = 0;
  private carry: Buffer | null = null;
  private readonly streams = new Map<number, ChunkStream>();
  private cur: ChunkStream | null = null;
  private chunkLeft = 0;
  private chunkSize = 128;
  private ackWindow = 0;
  private received = 0;
  private lastAck = 0;
  private streamId = 0;
  private ended = false;
  /** times (nowMs) */
  startAt = 0;
  playAt = 0;
  firstFrameAt = 0;
  firstKeyframeAt = 0;
  /** counters since the last reset */
  bytes = 0;
  reads = 0;
  videoFrames = 0;
  audioFrames = 0;
  status = '';

  constructor(
    private readonly target: PlayerTarget,
    private readonly events: PlayerEvents,
  ) {}

  start(): void {
    this.startAt = nowMs();
    const c0c1 = Buffer.alloc(1 + HS_SIZE); // version 3, time 0, zero "version": the simple handshake
    c0c1[0] = 3;
    for (let i = 9; i < c0c1.length; i++) c0c1[i] = (i * 7919) & 0xff;
    this.socket = connect({
      host: this.target.host,
      port: this.target.port,
      noDelay: true,
      onread: { buffer: shared, callback: (n) => this.onRead(shared, n) },
    });
    this.socket.on('connect', () => this.socket?.write(c0c1));
    this.socket.on('error', (e) => this.end(`error:${(e as NodeJS.ErrnoException).code ?? e.message}`));
    this.socket.on('close', () => this.end('closed'));
  }

  close(): void {
    this.ended = true;
    this.socket?.destroy();
  }

  private end(reason: string): void {
    if (this.ended) return;
    this.ended = true;
    this.socket?.destroy();
    this.events.onEnd(this, reason);
  }

  private send(msgs: RtmpMessage[]): void {
    this.socket?.write(encodeMessages(msgs, 128));
  }

  private onRead(buf: Buffer, n: number): boolean {
    if (this.ended) return false;
    this.bytes += n;
    this.reads++;
    let off = 0;
    if (this.hs !== null) {
      const k = Math.min(n, this.hs.length - this.hsGot);
      buf.copy(this.hs, this.hsGot, 0, k);
      this.hsGot += k;
      off = k;
      if (this.hsGot < this.hs.length) return true;
      this.socket?.write(this.hs.subarray(1, 1 + HS_SIZE)); // C2 = S1
      this.hs = null;
      this.send([
        command([
          'connect',
          1,
          {
            app: this.target.app,
            tcUrl: `rtmp://${this.target.host}:${this.target.port}/${this.target.app}`,
          },
        ]),
      ]);
    }
    this.received += n - off;
    try {
      this.scan(buf, off, n);
    } catch (e) {
      this.end(`protocol:${(e as Error).message}`);
      return false;
    }
    if (this.ackWindow > 0 && this.received - this.lastAck >= this.ackWindow / 2) {
      this.lastAck = this.received;
      this.send([ctl.acknowledgement(this.received)]);
    }
    return true;
  }

  private scan(buf: Buffer, off: number, end: number): void {
    if (this.carry !== null && off < end) {
      const k = this.carry.length;
      const head = Buffer.concat([this.carry, buf.subarray(off, Math.min(end, off + 18))]);
      this.carry = null;
      const used = this.header(head, 0, head.length);
      if (used === 0) {
        this.carry = head;
        return;
      }
      off += used - k;
    }
    while (off < end) {
      const st = this.cur;
      if (st !== null) {
        const n = Math.min(this.chunkLeft, end - off);
        if (st.msg !== null) buf.copy(st.msg, st.length - st.left, off, off + n);
        else if (st.prefix !== null && st.plen < KEY_PREFIX_BYTES) {
          const k = Math.min(n, KEY_PREFIX_BYTES - st.plen);
          buf.copy(st.prefix, st.plen, off, off + k);
          st.plen += k;
        }
        off += n;
        st.left -= n;
        this.chunkLeft -= n;
        if (this.chunkLeft > 0) return;
        this.cur = null;
        if (st.left === 0) this.complete(st);
        continue;
      }
      const used = this.header(buf, off, end);
      if (used === 0) {
        this.carry = Buffer.from(buf.subarray(off, end));
        return;
      }
      off += used;
    }
  }

  /** Parses and applies one chunk header; returns its length, or 0 if incomplete. */
  private header(buf: Buffer, off: number, end: number): number {
    const avail = end - off;
    const fmt = buf[off] >>> 6;
    let csid = buf[off] & 0x3f;
    let p = 1;
    if (csid === 0) {
      if (avail < 2) return 0;
      csid = buf[off + 1] + 64;
      p = 2;
    } else if (csid === 1) {
      if (avail < 3) return 0;
      csid = buf[off + 1] + buf[off + 2] * 256 + 64;
      p = 3;
    }
    const hl = fmt === 0 ? 11 : fmt === 1 ? 7 : fmt === 2 ? 3 : 0;
    if (avail < p + hl) return 0;
    let st = this.streams.get(csid);
    if (st === undefined) {
      if (fmt === 3) throw new Error(`fmt 3 on new csid ${csid}`);
      st = { type: 0, length: 0, ext: false, left: 0, msg: null, prefix: null, plen: 0 };
      this.streams.set(csid, st);
    }
    let ext = st.ext;
    if (fmt < 3) {
      ext = buf.readUIntBE(off + p, 3) === 0xffffff;
      if (fmt <= 1) {
        st.length = buf.readUIntBE(off + p + 3, 3);
        st.type = buf[off + p + 6];
      }
    }
    p += hl;
    if (ext) {
      if (avail < p + 4) return 0;
      p += 4;
    }
    st.ext = ext;
    if (fmt < 3 && st.left > 0) throw new Error(`new header mid-message on csid ${csid}`);
    if (st.left === 0) this.startMessage(st);
    this.chunkLeft = Math.min(this.chunkSize, st.left);
    if (st.left === 0) this.complete(st);
    else this.cur = st;
    return p;
  }

  private startMessage(st: ChunkStream): void {
    st.left = st.length;
    st.msg = null;
    if (st.type === 9) {
      st.prefix ??= Buffer.allocUnsafe(KEY_PREFIX_BYTES);
      st.plen = 0;
    } else if (st.type !== 8 && st.type !== 18 && st.type !== 22) {
      if (st.length > 1 << 20) throw new Error(`control message of ${st.length} bytes`);
      st.msg = Buffer.allocUnsafe(st.length);
    }
  }

  private complete(st: ChunkStream): void {
    const type = st.type;
    if (type === 9) {
      const pre = st.prefix!;
      if (st.plen >= 2 && (pre[0] & 0x0f) === 7 && pre[1] === 0) return; // AVC sequence header
      this.videoFrames++;
      const at = nowMs();
      const keyframe = pre[0] >>> 4 === 1;
      if (this.firstFrameAt === 0) this.firstFrameAt = at;
      if (keyframe && this.firstKeyframeAt === 0) this.firstKeyframeAt = at;
      this.events.onVideo(this, frameKey(pre, st.plen, st.length), keyframe, at);
      return;
    }
    if (type === 8) {
      this.audioFrames++;
      return;
    }
    const msg = st.msg;
    st.msg = null;
    if (msg === null) return;
    if (type === 1 && msg.length >= 4) this.chunkSize = msg.readUInt32BE(0) & 0x7fffffff;
    else if (type === 5 && msg.length >= 4) this.ackWindow = msg.readUInt32BE(0);
    else if (type === 4) {
      const uc = ctl.parseUserControl(msg);
      if (uc?.event === ctl.UserControlEvent.PingRequest)
        this.send([ctl.userControl(ctl.UserControlEvent.PingResponse, uc.value)]);
    } else if (type === 20) this.onCommand(msg);
  }

  private onCommand(payload: Buffer): void {
    const cmd = parseCommand(decodeAmf0(payload));
    if (!cmd) return;
    if (cmd.name === '_result' && cmd.txn === 1) {
      this.send([command(['createStream', 2, null])]);
    } else if (cmd.name === '_result' && cmd.txn === 2) {
      this.streamId = typeof cmd.args[0] === 'number' ? cmd.args[0] : 1;
      this.playAt = nowMs();
      this.send([
        command(['play', 0, null, this.target.name, -1000], this.streamId, 8),
        ctl.userControl(ctl.UserControlEvent.SetBufferLength, this.streamId, 1000),
      ]);
    } else if (cmd.name === '_error') {
      this.end(`rejected:${cmd.txn}`);
    } else if (cmd.name === 'onStatus' && isObject(cmd.args[0])) {
      const code = String(cmd.args[0].code);
      if (code.startsWith('NetStream.Play.') && code !== 'NetStream.Play.Reset') this.status = code;
      if (code === 'NetStream.Play.StreamNotFound' || code === 'NetStream.Play.Failed') this.end(code);
    }
  }
}
