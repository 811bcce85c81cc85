import { encodeFlvTag } from '../formats/flv/flv-writer.js';
import { encodeMessage } from '../protocols/rtmp/chunk-encoder.js';

/** RTMP message type == FLV tag type. */
export type FrameType = 8 | 9 | 18;

/** Fixed output chunk stream ids, so a frame's chunk bytes are the same for every RTMP player. */
const CSID_BY_TYPE: Record<FrameType, number> = { 18: 5, 8: 6, 9: 7 };
/** Players receive media on message stream id 1, the id createStream returned (protocol brief §0 rule 6). */
export const PLAY_STREAM_ID = 1;

export interface FrameFlags {
  /** video keyframe (a decoder can start here) */
  keyframe: boolean;
  /** codec configuration: AVC/HEVC/AV1 config record, AudioSpecificConfig, OpusHead ... */
  sequenceHeader: boolean;
  /** carries an Enhanced RTMP ex-header: only players that announced the FourCC may receive it */
  fourCc?: string;
}

/**
 * One audio, video or data message as published: the body is the FLV tag body (== RTMP message payload).
 * Output encodings are made once, lazily, and shared by reference by every subscriber of that format.
 */
export class Frame {
  private rtmpBytes: Buffer | undefined;
  private rtmpChunkSize = 0;
  private flvBytes: Buffer | undefined;

  constructor(
    readonly type: FrameType,
    /** extended, monotonic per track, in ms */
    readonly timestamp: number,
    readonly body: Buffer,
    readonly flags: FrameFlags = { keyframe: false, sequenceHeader: false },
  ) {}

  get isVideo(): boolean {
    return this.type === 9;
  }

  get isAudio(): boolean {
    return this.type === 8;
  }

  /** RTMP chunks (fmt 0 + fmt 3, absolute timestamp, msid 1) at the server's out chunk size. */
  rtmp(chunkSize: number): Buffer {
    if (this.rtmpBytes === undefined || this.rtmpChunkSize !== chunkSize) {
      this.rtmpBytes = encodeMessage(
        {
          csid: CSID_BY_TYPE[this.type],
          type: this.type,
          streamId: PLAY_STREAM_ID,
          timestamp: this.timestamp % 2 ** 32,
          payload: this.body,
        },
        chunkSize,
      );
      this.rtmpChunkSize = chunkSize;
    }
    return this.rtmpBytes;
  }

  private extra: Map<string, Buffer> | undefined;

  /** Any other per-format encoding (e.g. an FLV tag inside a WebSocket frame), made once and shared. */
  cached(key: string, make: (f: Frame) => Buffer): Buffer {
    this.extra ??= new Map();
    let b = this.extra.get(key);
    if (!b) {
      b = make(this);
      this.extra.set(key, b);
    }
    return b;
  }

  /** One FLV tag with its PreviousTagSize. */
  flv(): Buffer {
    this.flvBytes ??= encodeFlvTag(this.type, this.timestamp % 2 ** 32, this.body);
    return this.flvBytes;
  }
}
