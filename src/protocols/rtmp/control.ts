import { MessageType, type RtmpMessage } from './message.js';

/** Protocol control and User Control messages (RTMP 1.0 §5.4, §6.2, §7.1.7). All on csid 2, msid 0. */
export const UserControlEvent = {
  StreamBegin: 0,
  StreamEOF: 1,
  StreamDry: 2,
  SetBufferLength: 3,
  StreamIsRecorded: 4,
  PingRequest: 6,
  PingResponse: 7,
} as const;

function control(type: number, payload: Buffer): RtmpMessage {
  return { csid: 2, type, streamId: 0, timestamp: 0, payload };
}

function u32(value: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32BE(value >>> 0, 0);
  return b;
}

export const setChunkSize = (size: number): RtmpMessage =>
  control(MessageType.SetChunkSize, u32(size & 0x7fffffff));
export const windowAckSize = (size: number): RtmpMessage => control(MessageType.WindowAckSize, u32(size));
export const acknowledgement = (bytes: number): RtmpMessage =>
  control(MessageType.Acknowledgement, u32(bytes));
export const abortMessage = (csid: number): RtmpMessage => control(MessageType.Abort, u32(csid));

/** limitType: 0 hard, 1 soft, 2 dynamic (§5.4.5) */
export function setPeerBandwidth(size: number, limitType: 0 | 1 | 2): RtmpMessage {
  const b = Buffer.allocUnsafe(5);
  b.writeUInt32BE(size >>> 0, 0);
  b.writeUInt8(limitType, 4);
  return control(MessageType.SetPeerBandwidth, b);
}

export function userControl(event: number, value: number, extra?: number): RtmpMessage {
  const b = Buffer.allocUnsafe(extra === undefined ? 6 : 10);
  b.writeUInt16BE(event, 0);
  b.writeUInt32BE(value >>> 0, 2);
  if (extra !== undefined) b.writeUInt32BE(extra >>> 0, 6);
  return control(MessageType.UserControl, b);
}

export interface ParsedUserControl {
  event: number;
  value: number;
  extra?: number;
}

export function parseUserControl(payload: Buffer): ParsedUserControl | undefined {
  if (payload.length < 6) return undefined;
  return {
    event: payload.readUInt16BE(0),
    value: payload.readUInt32BE(2),
    extra: payload.length >= 10 ? payload.readUInt32BE(6) : undefined,
  };
}

export function readU32(payload: Buffer): number | undefined {
  return payload.length >= 4 ? payload.readUInt32BE(0) : undefined;
}
