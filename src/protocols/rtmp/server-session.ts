import { TidecastError } from '../../errors.js';
import { decodeAmf0 } from '../../formats/amf/amf0.js';
import type { AmfObject, AmfValue } from '../../formats/amf/types.js';
import { ChunkDecoder } from './chunk-decoder.js';
import { encodeMessage } from './chunk-encoder.js';
import {
  command,
  errorResult,
  isObject,
  onStatus,
  type ParsedCommand,
  parseCommand,
  result,
  splitQuery,
} from './commands.js';
import * as ctl from './control.js';
import { ServerHandshake } from './handshake.js';
import { type ChunkLimits, MessageType, type RtmpMessage } from './message.js';

export interface ConnectRequest {
  app: string;
  /** query string from the app or tcUrl (kept for auth) */
  query: string;
  tcUrl: string;
  flashVer: string;
  objectEncoding: number;
  /** Enhanced RTMP FourCCs the client announced ('*' = any) */
  fourCcList: string[];
  command: AmfObject;
}

export interface StreamRequest {
  streamId: number;
  name: string;
  query: string;
}

export interface PlayRequest extends StreamRequest {
  start: number;
  duration: number;
  reset: boolean;
}

/** What the connection (servers/rtmp) decides; the session only speaks the protocol. */
export interface ServerSessionHandler {
  onHandshakeDone(mode: string): void;
  /** return undefined to accept, or a description to reject with NetConnection.Connect.Rejected */
  onConnect(req: ConnectRequest): string | undefined;
  onPublish(req: StreamRequest & { type: string }): void;
  onPlay(req: PlayRequest): void;
  /** audio (8), video (9) or data (18) from a publisher; AMF3 data (15) arrives converted to 18 */
  onMedia(msg: RtmpMessage): void;
  /** FCUnpublish, closeStream or deleteStream */
  onStreamClosed(streamId: number): void;
  onPause(streamId: number, paused: boolean): void;
  onReceive(streamId: number, kind: 'audio' | 'video', enabled: boolean): void;
  /** a command we do not know: logged by the connection; never fatal */
  onUnknownCommand(name: string): void;
}

export interface ServerSessionOptions {
  outChunkSize: number;
  windowAckSize: number;
  limits?: Partial<ChunkLimits>;
  send: (bytes: Buffer) => void;
  handler: ServerSessionHandler;
}

/** Server role of RTMP, sans-I/O: bytes in via push(), bytes out via send(), decisions via the handler. */
export class RtmpServerSession {
  private handshake: ServerHandshake | undefined = new ServerHandshake();
  private readonly decoder: ChunkDecoder;
  private peerWindow = 0;
  private lastAcked = 0;
  private nextStreamId = 1;
  connect: ConnectRequest | undefined;

  constructor(private readonly opts: ServerSessionOptions) {
    this.decoder = new ChunkDecoder(opts.limits);
  }

  get handshaking(): boolean {
    return this.handshake !== undefined;
  }

  get bytesReceived(): number {
    return this.decoder.bytesReceived;
  }

  push(bytes: Buffer): void {
    let data = bytes;
    if (this.handshake) {
      const step = this.handshake.push(data);
      for (const b of step.out) this.opts.send(b);
      if (!step.done) return;
      const mode = this.handshake.mode ?? 'simple';
      this.handshake = undefined;
      this.opts.handler.onHandshakeDone(mode);
      if (!step.rest || step.rest.length === 0) return;
      data = step.rest;
    }
    for (const msg of this.decoder.push(data)) this.dispatch(msg);
    this.maybeAck();
  }

  /** Send messages; control messages before the Set Chunk Size reply are sent at 128 by construction. */
  sendMessages(msgs: RtmpMessage[]): void {
    for (const m of msgs) this.opts.send(encodeMessage(m, this.outChunkSize));
  }

  private outChunkSize = 128;

  private maybeAck(): void {
    if (this.peerWindow <= 0) return;
    const received = this.decoder.bytesReceived;
    if (received - this.lastAcked >= this.peerWindow) {
      this.lastAcked = received;
      this.sendMessages([ctl.acknowledgement(received)]);
    }
  }

  private dispatch(msg: RtmpMessage): void {
    switch (msg.type) {
      case MessageType.SetChunkSize:
      case MessageType.Abort:
      case MessageType.Acknowledgement:
      case MessageType.SetPeerBandwidth:
        return; // chunk size and abort are applied by the decoder
      case MessageType.WindowAckSize:
        this.peerWindow = ctl.readU32(msg.payload) ?? 0;
        return;
      case MessageType.UserControl:
        return this.onUserControl(msg);
      case MessageType.Audio:
      case MessageType.Video:
      case MessageType.DataAmf0:
      case MessageType.Aggregate:
        return this.opts.handler.onMedia(msg);
      case MessageType.DataAmf3:
        // AMF3 data messages start with one format byte, then AMF0 values (§7.1.2)
        return this.opts.handler.onMedia({
          ...msg,
          type: MessageType.DataAmf0,
          payload: msg.payload.subarray(1),
        });
      case MessageType.CommandAmf0:
        return this.onCommand(msg, decodeAmf0(msg.payload));
      case MessageType.CommandAmf3:
        return this.onCommand(msg, decodeAmf0(msg.payload.subarray(1)));
      default:
        return; // shared objects: ignored
    }
  }

  private onUserControl(msg: RtmpMessage): void {
    const uc = ctl.parseUserControl(msg.payload);
    if (uc?.event === ctl.UserControlEvent.PingRequest) {
      this.sendMessages([ctl.userControl(ctl.UserControlEvent.PingResponse, uc.value)]);
    }
  }

  /** Ask the peer to prove it is alive (the connection times the answer). */
  ping(time: number): void {
    this.sendMessages([ctl.userControl(ctl.UserControlEvent.PingRequest, time)]);
  }

  private onCommand(msg: RtmpMessage, values: AmfValue[]): void {
    const cmd = parseCommand(values);
    if (!cmd) throw new TidecastError('RTMP_BAD_COMMAND', 'command message without a name');
    if (cmd.name !== 'connect' && !this.connect) {
      throw new TidecastError('RTMP_PROTOCOL', `"${cmd.name}" before connect`);
    }
    const h = this.opts.handler;
    const str = (v: AmfValue | undefined) => (typeof v === 'string' ? v : '');
    const sid = msg.streamId;
    switch (cmd.name) {
      case 'connect':
        return this.onConnect(cmd);
      case 'releaseStream':
      case 'FCSubscribe':
      case 'FCUnsubscribe':
        return this.replyIfAsked(cmd);
      case 'FCPublish':
        this.replyIfAsked(cmd);
        // some appliances wait for onFCPublish (sergey-dryabzhinsky/nginx-rtmp-module#38)
        this.sendMessages([
          command([
            'onFCPublish',
            0,
            null,
            { code: 'NetStream.Publish.Start', description: str(cmd.args[0]) },
          ]),
        ]);
        return;
      case 'createStream': {
        const id = this.nextStreamId++;
        this.sendMessages([result(cmd.txn, null, id)]);
        return;
      }
      case 'publish': {
        const { name, query } = splitQuery(str(cmd.args[0]));
        return h.onPublish({ streamId: sid || 1, name, query, type: str(cmd.args[1]) || 'live' });
      }
      case 'play':
        return this.onPlay(sid, str(cmd.args[0]), cmd.args[1], cmd.args[2], cmd.args[3]);
      case 'play2': {
        const p = isObject(cmd.args[0]) ? cmd.args[0] : {};
        return this.onPlay(sid, str(p.streamName), p.start, p.len, true);
      }
      case 'getStreamLength':
        // live streams have no length; ffmpeg tolerates 0 (and errors)
        return this.replyIfAsked(cmd, 0);
      case 'FCUnpublish':
        this.replyIfAsked(cmd);
        return h.onStreamClosed(sid || 1);
      case 'deleteStream':
        return h.onStreamClosed(typeof cmd.args[0] === 'number' ? cmd.args[0] : sid);
      case 'closeStream':
        return h.onStreamClosed(sid || 1);
      case 'receiveAudio':
      case 'receiveVideo':
        return h.onReceive(sid || 1, cmd.name === 'receiveAudio' ? 'audio' : 'video', cmd.args[0] !== false);
      case 'pause':
      case 'pauseRaw': {
        const paused = cmd.args[0] !== false;
        const code = paused ? 'NetStream.Pause.Notify' : 'NetStream.Unpause.Notify';
        this.sendMessages([onStatus(sid || 1, 'status', code, paused ? 'Paused live' : 'Unpaused live')]);
        return h.onPause(sid || 1, paused);
      }
      case 'seek':
        // live: acknowledge and keep going (Seek.Failed is an error level that makes ffmpeg quit)
        this.sendMessages([
          onStatus(sid || 1, 'status', 'NetStream.Seek.Notify', 'Seeking is not possible on live'),
        ]);
        return;
      case '_checkbw':
      case '_result':
      case '_error':
      case 'onBWDone':
        return;
      default:
        h.onUnknownCommand(cmd.name);
        if (cmd.txn > 0)
          this.sendMessages([errorResult(cmd.txn, 'NetConnection.Call.Failed', `unknown ${cmd.name}`)]);
    }
  }

  private replyIfAsked(cmd: ParsedCommand, info?: AmfValue): void {
    if (cmd.txn > 0) this.sendMessages([result(cmd.txn, null, info)]);
  }

  private onPlay(sid: number, rawName: string, start: AmfValue, duration: AmfValue, reset: AmfValue): void {
    const { name, query } = splitQuery(rawName);
    this.opts.handler.onPlay({
      streamId: sid || 1,
      name,
      query,
      start: typeof start === 'number' ? start : -2,
      duration: typeof duration === 'number' ? duration : -1,
      reset: reset !== false,
    });
  }

  private onConnect(cmd: ParsedCommand): void {
    if (this.connect) throw new TidecastError('RTMP_PROTOCOL', 'second connect on one connection');
    const o = isObject(cmd.object) ? cmd.object : {};
    const s = (v: AmfValue | undefined) => (typeof v === 'string' ? v : '');
    const rawApp = splitQuery(s(o.app));
    const app = { name: rawApp.name.replace(/\/+$/, ''), query: rawApp.query };
    const tcQuery = splitQuery(s(o.tcUrl)).query;
    const fourCcList = [
      ...(Array.isArray(o.fourCcList) ? o.fourCcList.filter((x): x is string => typeof x === 'string') : []),
      ...Object.keys(isObject(o.videoFourCcInfoMap) ? o.videoFourCcInfoMap : {}),
      ...Object.keys(isObject(o.audioFourCcInfoMap) ? o.audioFourCcInfoMap : {}),
    ];
    const req: ConnectRequest = {
      app: app.name,
      query: app.query || tcQuery,
      tcUrl: s(o.tcUrl),
      flashVer: s(o.flashVer),
      objectEncoding: typeof o.objectEncoding === 'number' ? o.objectEncoding : 0,
      fourCcList,
      command: o,
    };
    const rejection = this.opts.handler.onConnect(req);
    if (rejection !== undefined) {
      this.sendMessages([errorResult(cmd.txn, 'NetConnection.Connect.Rejected', rejection)]);
      return;
    }
    this.connect = req;
    // reply order as nginx / ffmpeg -listen / SRS: WinAck, PeerBW, SetChunkSize, _result (protocol brief §1.5)
    this.sendMessages([
      ctl.windowAckSize(this.opts.windowAckSize),
      ctl.setPeerBandwidth(this.opts.windowAckSize, 2),
    ]);
    this.sendMessages([ctl.setChunkSize(this.opts.outChunkSize)]);
    this.outChunkSize = this.opts.outChunkSize;
    this.sendMessages([
      result(
        cmd.txn,
        {
          fmsVer: 'FMS/3,0,1,123',
          capabilities: 31,
          // Enhanced RTMP: what we can forward (E-RTMP v2 §"Enhancing NetConnection connect Command")
          fourCcList: [
            'avc1',
            'hvc1',
            'av01',
            'vp09',
            'vp08',
            'mp4a',
            'Opus',
            'fLaC',
            'ac-3',
            'ec-3',
            '.mp3',
          ],
          capsEx: 0,
        },
        {
          level: 'status',
          code: 'NetConnection.Connect.Success',
          description: 'Connection succeeded.',
          objectEncoding: req.objectEncoding,
        },
      ),
    ]);
  }

  /** The out chunk size in force (after connect). */
  get chunkSize(): number {
    return this.outChunkSize;
  }
}
