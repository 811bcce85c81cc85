import { decodeAmf0 } from '../../formats/amf/amf0.js';
import type { AmfObject, AmfValue } from '../../formats/amf/types.js';
import { ChunkDecoder } from './chunk-decoder.js';
import { ChunkEncoder } from './chunk-encoder.js';
import { command, isObject, parseCommand } from './commands.js';
import * as ctl from './control.js';
import { ClientHandshake } from './handshake.js';
import { type ChunkLimits, MessageType, type RtmpMessage } from './message.js';

export interface ClientSessionHandler {
  onReady(): void;
  /** onStatus info objects (NetStream.* codes) and connect results */
  onStatus(info: AmfObject): void;
  /** audio, video and data messages while playing */
  onMedia(msg: RtmpMessage): void;
}

export interface ClientSessionOptions {
  send: (bytes: Buffer) => void;
  handler: ClientSessionHandler;
  digest?: boolean;
  outChunkSize?: number;
  limits?: Partial<ChunkLimits>;
}

/**
 * Client role of RTMP, sans-I/O (tests, the load generator and later relays). Commands are sent in the
 * order ffmpeg uses; results come back through promises keyed by transaction id.
 */
export class RtmpClientSession {
  private handshake: ClientHandshake | undefined;
  private readonly decoder: ChunkDecoder;
  private readonly encoder: ChunkEncoder;
  private txn = 1;
  private readonly pending = new Map<
    number,
    { resolve: (v: AmfValue[]) => void; reject: (e: Error) => void }
  >();
  private peerWindow = 0;
  private lastAcked = 0;
  streamId = 0;

  constructor(private readonly o: ClientSessionOptions) {
    this.decoder = new ChunkDecoder(o.limits);
    this.encoder = new ChunkEncoder(128);
  }

  start(): void {
    this.handshake = new ClientHandshake({ digest: this.o.digest ?? false });
    this.o.send(this.handshake.start());
  }

  push(bytes: Buffer): void {
    let data = bytes;
    if (this.handshake) {
      const step = this.handshake.push(data);
      for (const b of step.out) this.o.send(b);
      if (!step.done) return;
      this.handshake = undefined;
      const size = this.o.outChunkSize ?? 4096;
      this.send(ctl.setChunkSize(size));
      this.encoder.setChunkSize(size);
      this.o.handler.onReady();
      if (!step.rest?.length) return;
      data = step.rest;
    }
    for (const msg of this.decoder.push(data)) this.dispatch(msg);
    const received = this.decoder.bytesReceived;
    if (this.peerWindow > 0 && received - this.lastAcked >= this.peerWindow / 2) {
      this.lastAcked = received;
      this.send(ctl.acknowledgement(received));
    }
  }

  send(msg: RtmpMessage): void {
    this.o.send(this.encoder.encode(msg));
  }

  /** Call a command and wait for its _result (rejects on _error). `amf3` sends it as an AMF3 command (type 17). */
  call(
    name: string,
    object: AmfValue,
    args: AmfValue[] = [],
    opts: { streamId?: number; amf3?: boolean } = {},
  ): Promise<AmfValue[]> {
    const txn = this.txn++;
    // registered before sending: an in-process peer may answer synchronously inside send()
    const reply = new Promise<AmfValue[]>((resolve, reject) => this.pending.set(txn, { resolve, reject }));
    const msg = command([name, txn, object, ...args], opts.streamId ?? 0);
    // AMF3 command messages carry one format byte (0) and then AMF0 values (RTMP 1.0 §7.1.1)
    if (opts.amf3) {
      this.send({
        ...msg,
        type: MessageType.CommandAmf3,
        payload: Buffer.concat([Buffer.from([0]), msg.payload]),
      });
    } else {
      this.send(msg);
    }
    return reply;
  }

  async connect(app: string, tcUrl: string, extra: AmfObject = {}): Promise<AmfObject> {
    const res = await this.call('connect', {
      app,
      tcUrl,
      flashVer: 'LNX 9,0,124,2',
      fpad: false,
      capabilities: 15,
      audioCodecs: 4071,
      videoCodecs: 252,
      videoFunction: 1,
      objectEncoding: 0,
      ...extra,
    });
    return (isObject(res[1]) ? res[1] : {}) as AmfObject;
  }

  async createStream(): Promise<number> {
    const res = await this.call('createStream', null);
    this.streamId = typeof res[1] === 'number' ? res[1] : 1;
    return this.streamId;
  }

  publish(name: string): void {
    this.send(command(['releaseStream', this.txn++, null, name]));
    this.send(command(['FCPublish', this.txn++, null, name]));
    this.send(command(['publish', 0, null, name, 'live'], this.streamId, 8));
  }

  play(name: string, start = -1000): void {
    this.send(command(['play', 0, null, name, start], this.streamId, 8));
    this.send(ctl.userControl(ctl.UserControlEvent.SetBufferLength, this.streamId, 3000));
  }

  private dispatch(msg: RtmpMessage): void {
    switch (msg.type) {
      case MessageType.WindowAckSize:
        this.peerWindow = ctl.readU32(msg.payload) ?? 0;
        return;
      case MessageType.UserControl: {
        const uc = ctl.parseUserControl(msg.payload);
        if (uc?.event === ctl.UserControlEvent.PingRequest) {
          this.send(ctl.userControl(ctl.UserControlEvent.PingResponse, uc.value));
        }
        return;
      }
      case MessageType.Audio:
      case MessageType.Video:
      case MessageType.DataAmf0:
      case MessageType.Aggregate: // SRS and FMS send these; Ingest splits them (RTMP 1.0 §7.1.6)
        return this.o.handler.onMedia(msg);
      case MessageType.CommandAmf0:
        return this.onCommand(decodeAmf0(msg.payload));
      default:
        return;
    }
  }

  private onCommand(values: AmfValue[]): void {
    const cmd = parseCommand(values);
    if (!cmd) return;
    if (cmd.name === '_result' || cmd.name === '_error') {
      const p = this.pending.get(cmd.txn);
      if (!p) return;
      this.pending.delete(cmd.txn);
      if (cmd.name === '_result') p.resolve([cmd.object, ...cmd.args]);
      else {
        const info = cmd.args[0];
        p.reject(new Error(isObject(info) ? String(info.code) : '_error'));
      }
      return;
    }
    if (cmd.name === 'onStatus' && isObject(cmd.args[0])) this.o.handler.onStatus(cmd.args[0]);
  }

  /** Fail every pending call (connection closed). */
  failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
