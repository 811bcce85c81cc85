/**
 * Opus identification header "OpusHead" (RFC 7845 §5.1), the E-RTMP `Opus` SequenceStart payload.
 * All multi-byte fields are little-endian.
 */
import { TidecastError } from '../../errors.js';

export interface OpusHead {
  version: number;
  /** Output channel count (1..255). */
  channels: number;
  /** Samples (at 48 kHz) to discard from the decoder output at the start. */
  preSkip: number;
  /** Original input sample rate (informational only; Opus always decodes at 48 kHz). */
  inputSampleRate: number;
  /** Q7.8 dB output gain. */
  outputGain: number;
  /** 0 = mono/stereo, 1 = Vorbis order surround, 255 = unspecified. */
  mappingFamily: number;
  /** Present when mappingFamily != 0 (RFC 7845 §5.1.1). */
  streamCount?: number;
  coupledCount?: number;
  channelMapping?: number[];
}

const MAGIC = Buffer.from('OpusHead', 'latin1');

function bad(msg: string): TidecastError {
  return new TidecastError('CODEC_BAD_CONFIG', `OpusHead: ${msg}`);
}

export function parseOpusHead(buf: Buffer): OpusHead {
  if (buf.length < 19) throw bad(`too short (${buf.length} bytes)`);
  if (!buf.subarray(0, 8).equals(MAGIC)) throw bad('missing "OpusHead" magic');
  const version = buf[8];
  // RFC 7845 §5.1: the major version (upper 4 bits) must be 0; minor versions stay compatible.
  if (version >> 4 !== 0) throw bad(`unsupported version ${version}`);
  const channels = buf[9];
  if (channels === 0) throw bad('channel count 0');
  const head: OpusHead = {
    version,
    channels,
    preSkip: buf.readUInt16LE(10),
    inputSampleRate: buf.readUInt32LE(12),
    outputGain: buf.readInt16LE(16),
    mappingFamily: buf[18],
  };
  if (head.mappingFamily === 0) {
    if (channels > 2) throw bad(`mapping family 0 with ${channels} channels`);
    return head;
  }
  if (buf.length < 21 + channels) throw bad('truncated channel mapping table');
  head.streamCount = buf[19];
  head.coupledCount = buf[20];
  if (head.streamCount === 0 || head.coupledCount > head.streamCount) {
    throw bad(`bad stream counts ${head.streamCount}/${head.coupledCount}`);
  }
  head.channelMapping = [...buf.subarray(21, 21 + channels)];
  return head;
}
