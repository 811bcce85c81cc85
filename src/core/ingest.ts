import { decodeAmf0, encodeAmf0 } from '../formats/amf/amf0.js';
import type { AmfObject, AmfValue } from '../formats/amf/types.js';
import { parseAudioTagBody, parseVideoTagBody } from '../formats/flv/tag-body.js';
import { describeAudioConfig, describeVideoConfig } from '../media/describe.js';
import { Frame } from '../media/frame.js';
import type { Stream } from './stream.js';

export interface IngestMessage {
  type: number;
  timestamp: number;
  payload: Buffer;
}

export interface IngestResult {
  frames: Frame[];
  /** a new onMetaData to store and send (already without @setDataFrame) */
  metadata?: Frame;
}

function isPlainObject(v: AmfValue | undefined): v is AmfObject {
  return (
    typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v)
  );
}

/**
 * Turns a publisher's audio/video/data messages into Frames on the stream's timeline:
 * strips @setDataFrame (players get plain onMetaData, protocol brief §0 rule 10), splits aggregates,
 * marks keyframes and sequence headers, and learns the codecs from the sequence headers.
 */
export class Ingest {
  constructor(private readonly stream: Stream) {}

  /** messages dropped because their tag header could not be parsed */
  badFrames = 0;

  accept(msg: IngestMessage, out: IngestResult): void {
    if (msg.type === 22) return this.aggregate(msg, out);
    if (msg.type === 8 || msg.type === 9) {
      let f: Frame | undefined;
      try {
        f = this.mediaFrame(msg);
      } catch {
        this.badFrames++; // a malformed tag is dropped; the publisher keeps its session
        return;
      }
      if (f) out.frames.push(f);
      return;
    }
    if (msg.type === 18) return this.data(msg, out);
  }

  private mediaFrame(msg: IngestMessage): Frame | undefined {
    const body = msg.payload;
    if (body.length === 0) return undefined; // zero-length audio means "silence"; nothing to forward
    const kind = msg.type === 9 ? 'video' : 'audio';
    const ts = this.stream.timeline.map(kind, msg.timestamp >>> 0);
    if (msg.type === 9) {
      const info = parseVideoTagBody(body);
      if (info.isSequenceHeader && body.length > info.dataOffset) {
        Object.assign(this.stream.info, describeVideoConfig(info.codec, body.subarray(info.dataOffset)));
      }
      if (info.isCommand || info.isMetadata) {
        return new Frame(9, ts, body, {
          keyframe: false,
          sequenceHeader: false,
          fourCc: fourCcOf(info.enhanced, info.codec),
        });
      }
      return new Frame(9, ts, body, {
        keyframe: info.keyframe,
        // an empty SequenceStart (E-RTMP files open with one) is not a configuration to cache
        sequenceHeader: info.isSequenceHeader && info.dataLength > 0,
        fourCc: fourCcOf(info.enhanced, info.codec),
      });
    }
    const info = parseAudioTagBody(body);
    if (info.isSequenceHeader && body.length > info.dataOffset) {
      Object.assign(this.stream.info, describeAudioConfig(info.codec, body.subarray(info.dataOffset)));
    } else if (!this.stream.info.audioCodec) {
      this.stream.info.audioCodec = info.codec;
    }
    return new Frame(8, ts, body, {
      keyframe: false,
      sequenceHeader: info.isSequenceHeader && info.dataLength > 0,
      fourCc: fourCcOf(info.enhanced, info.codec),
    });
  }

  private data(msg: IngestMessage, out: IngestResult): void {
    let values: AmfValue[];
    try {
      values = decodeAmf0(msg.payload);
    } catch {
      return; // an undecodable data message is dropped, not fatal
    }
    let [name, ...rest] = values;
    if (name === '@setDataFrame') [name, ...rest] = rest;
    if (name === '@clearDataFrame') return;
    if (name === 'onMetaData' && isPlainObject(rest[0])) {
      const meta = rest[0];
      const ts = this.stream.timeline.map('data', msg.timestamp >>> 0);
      out.metadata = new Frame(18, ts, encodeAmf0(['onMetaData', meta]));
      return;
    }
    if (typeof name !== 'string') return;
    const ts = this.stream.timeline.map('data', msg.timestamp >>> 0);
    out.frames.push(
      new Frame(18, ts, values[0] === '@setDataFrame' ? encodeAmf0([name, ...rest]) : msg.payload),
    );
  }

  /** Aggregate message (type 22): FLV-tag-like sub-messages with times relative to the first (RTMP 1.0 §7.1.6). */
  private aggregate(msg: IngestMessage, out: IngestResult): void {
    const p = msg.payload;
    let off = 0;
    let first = -1;
    while (off + 11 <= p.length) {
      const type = p[off];
      const size = p.readUIntBE(off + 1, 3);
      const ts = (p.readUIntBE(off + 4, 3) | (p[off + 7] << 24)) >>> 0;
      if (off + 11 + size > p.length) return;
      if (first < 0) first = ts;
      const body = p.subarray(off + 11, off + 11 + size);
      if (type !== 8 && type !== 9 && type !== 18) return; // no nested aggregates
      this.accept({ type, timestamp: (msg.timestamp + (ts - first)) >>> 0, payload: body }, out);
      off += 11 + size + 4;
    }
  }
}

function fourCcOf(enhanced: boolean, codec: string): string | undefined {
  return enhanced ? codec : undefined;
}
