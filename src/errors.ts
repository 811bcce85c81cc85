/**
 * Errors with stable codes. Every parser throws a TidecastError whose `code` is stable across releases,
 * so logs, metrics and tests can match on it. A connection that hits one ends with that code as its reason.
 */
export type ErrorCode =
  // handshake
  | 'RTMP_BAD_VERSION'
  | 'RTMP_HANDSHAKE_TIMEOUT'
  | 'RTMP_HANDSHAKE_FAILED'
  // chunk stream
  | 'RTMP_BAD_CHUNK_SIZE'
  | 'RTMP_MESSAGE_TOO_LARGE'
  | 'RTMP_BUFFER_LIMIT'
  | 'RTMP_BAD_CHUNK_HEADER'
  | 'RTMP_TOO_MANY_CHUNK_STREAMS'
  // commands / session
  | 'RTMP_BAD_COMMAND'
  | 'RTMP_PROTOCOL'
  // AMF
  | 'AMF_TRUNCATED'
  | 'AMF_BAD_MARKER'
  | 'AMF_TOO_DEEP'
  | 'AMF_TOO_LONG'
  | 'AMF_BAD_REFERENCE'
  // FLV / codecs
  | 'FLV_BAD_HEADER'
  | 'FLV_TRUNCATED'
  | 'FLV_TAG_TOO_LARGE'
  | 'FLV_BAD_TAG'
  | 'CODEC_BAD_CONFIG'
  // MP4 (fragmented MP4 reader)
  | 'MP4_TRUNCATED'
  | 'MP4_BAD_BOX'
  | 'MP4_TOO_LARGE'
  // config
  | 'CONFIG_INVALID';

export class TidecastError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'TidecastError';
    this.code = code;
  }
}

export function errorCode(err: unknown): string {
  if (err instanceof TidecastError) return err.code;
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return 'INTERNAL_ERROR';
}
