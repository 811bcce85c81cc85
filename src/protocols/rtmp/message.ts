/** RTMP message types (RTMP 1.0 §5.4, §7.1). */
export const MessageType = {
  SetChunkSize: 1,
  Abort: 2,
  Acknowledgement: 3,
  UserControl: 4,
  WindowAckSize: 5,
  SetPeerBandwidth: 6,
  Audio: 8,
  Video: 9,
  DataAmf3: 15,
  SharedObjectAmf3: 16,
  CommandAmf3: 17,
  DataAmf0: 18,
  SharedObjectAmf0: 19,
  CommandAmf0: 20,
  Aggregate: 22,
} as const;

/** One complete RTMP message, as reassembled from (or to be split into) chunks. */
export interface RtmpMessage {
  /** Chunk stream id it arrived on / is to be sent on (2..65599). */
  csid: number;
  /** Message type id (MessageType). */
  type: number;
  /** Message stream id (little-endian on the wire in fmt 0). */
  streamId: number;
  /** Absolute timestamp in ms, modulo 2^32. */
  timestamp: number;
  payload: Buffer;
}

/** Named limits for the chunk layer; every length field is capped by one of these. */
export interface ChunkLimits {
  /** Largest single message accepted (the 24-bit field allows 16 MiB - 1). */
  maxMessageBytes: number;
  /** Largest peer chunk size accepted via Set Chunk Size. */
  maxChunkSize: number;
  /** Most chunk streams with partial state at once. */
  maxChunkStreams: number;
  /** Most bytes buffered across all partial messages. */
  maxBufferedBytes: number;
}

export const DEFAULT_CHUNK_LIMITS: ChunkLimits = {
  maxMessageBytes: 16 * 1024 * 1024,
  maxChunkSize: 16 * 1024 * 1024,
  maxChunkStreams: 256,
  maxBufferedBytes: 32 * 1024 * 1024,
};
