import { encodeAmf0 } from '../../formats/amf/amf0.js';
import type { AmfObject, AmfValue } from '../../formats/amf/types.js';
import { MessageType, type RtmpMessage } from './message.js';

/** Chunk stream ids we send on (any is legal; fixed ones keep output deterministic). */
export const CSID_COMMAND = 3;
export const CSID_STREAM_STATUS = 5;

export function command(values: AmfValue[], streamId = 0, csid = CSID_COMMAND): RtmpMessage {
  return { csid, type: MessageType.CommandAmf0, streamId, timestamp: 0, payload: encodeAmf0(values) };
}

export function dataMessage(values: AmfValue[], streamId: number, timestamp = 0): RtmpMessage {
  return {
    csid: CSID_STREAM_STATUS,
    type: MessageType.DataAmf0,
    streamId,
    timestamp,
    payload: encodeAmf0(values),
  };
}

export type StatusLevel = 'status' | 'error' | 'warning';

/** onStatus(0, null, info) on the play/publish message stream (protocol brief §1.5). */
export function onStatus(
  streamId: number,
  level: StatusLevel,
  code: string,
  description: string,
  extra: AmfObject = {},
): RtmpMessage {
  return command(
    ['onStatus', 0, null, { level, code, description, ...extra }],
    streamId,
    streamId === 0 ? CSID_COMMAND : CSID_STREAM_STATUS,
  );
}

export function result(txn: number, props: AmfValue, info?: AmfValue): RtmpMessage {
  return command(info === undefined ? ['_result', txn, props] : ['_result', txn, props, info]);
}

export function errorResult(txn: number, code: string, description: string): RtmpMessage {
  return command(['_error', txn, null, { level: 'error', code, description }]);
}

/** A command as received: name, transaction id, command object and the rest of the arguments. */
export interface ParsedCommand {
  name: string;
  txn: number;
  object: AmfValue;
  args: AmfValue[];
}

export function parseCommand(values: AmfValue[]): ParsedCommand | undefined {
  const [name, txn, object, ...args] = values;
  if (typeof name !== 'string') return undefined;
  return { name, txn: typeof txn === 'number' ? txn : 0, object: object ?? null, args };
}

export function isObject(v: AmfValue | undefined): v is AmfObject {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v)
  );
}

/** Split `name?query` (stream keys and apps may carry tokens for auth). */
export function splitQuery(s: string): { name: string; query: string } {
  const i = s.indexOf('?');
  return i < 0 ? { name: s, query: '' } : { name: s.slice(0, i), query: s.slice(i + 1) };
}
