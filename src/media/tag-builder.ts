/**
 * Builds FLV tag bodies (== RTMP audio/video message payloads) from codec data, the inverse of
 * formats/flv/tag-body.ts: what a publisher would send. Legacy FLV (§E.4.2.1 AUDIODATA, §E.4.3.1 VIDEODATA with
 * AVCVIDEOPACKET) for AVC and AAC, Enhanced RTMP v2 ExVideoTagHeader / ExAudioTagHeader (FourCC, no ModEx, no
 * multitrack) for the rest. Video frame data is length-prefixed NAL units, exactly as in MP4 samples.
 */
import { FourCC } from '../formats/flv/fourcc.js';

/** FLV / E-RTMP VideoFrameType */
const KEY_FRAME = 1;
const INTER_FRAME = 2;
/** E-RTMP VideoPacketType / AudioPacketType */
const SEQUENCE_START = 0;
const CODED_FRAMES = 1;
/** SoundFormat 9: ExAudioTagHeader */
const EX_AUDIO = 9;
/** Legacy AAC: SoundFormat 10, 44 kHz, 16-bit, stereo (the fixed flags AAC requires, §E.4.2.1) */
const AAC_BYTE = 0xaf;
/** Legacy AVC CodecID */
const AVC_CODEC_ID = 7;

const SI24_MIN = -0x800000;
const SI24_MAX = 0x7fffff;

function si24(value: number): Buffer {
  if (!Number.isInteger(value) || value < SI24_MIN || value > SI24_MAX) {
    throw new RangeError(`composition time ${value} ms does not fit SI24`);
  }
  const b = Buffer.alloc(3);
  b.writeIntBE(value, 0, 3);
  return b;
}

function fourcc(name: string): Buffer {
  const code = FourCC[name];
  if (code === undefined) throw new RangeError(`unknown FourCC ${name}`);
  const b = Buffer.alloc(4);
  b.writeUInt32BE(code, 0);
  return b;
}

/** E-RTMP video SequenceStart: `0x80 | KeyFrame << 4 | 0`, FourCC, the decoder configuration record. */
export function exVideoSequenceStart(codec: 'hvc1' | 'avc1' | 'av01' | 'vp09', config: Buffer): Buffer {
  return Buffer.concat([Buffer.of(0x80 | (KEY_FRAME << 4) | SEQUENCE_START), fourcc(codec), config]);
}

/**
 * E-RTMP video CodedFrames: `0x80 | frameType << 4 | 1`, FourCC, then for `hvc1`/`avc1` an SI24 composition
 * time (ms, pts - dts), then the frame data.
 */
export function exVideoCodedFrames(
  codec: 'hvc1' | 'avc1' | 'av01' | 'vp09',
  keyframe: boolean,
  compositionTime: number,
  data: Buffer,
): Buffer {
  const head = Buffer.of(0x80 | ((keyframe ? KEY_FRAME : INTER_FRAME) << 4) | CODED_FRAMES);
  const parts = [head, fourcc(codec)];
  if (codec === 'hvc1' || codec === 'avc1') parts.push(si24(compositionTime));
  else if (compositionTime !== 0) throw new RangeError(`${codec} CodedFrames carry no composition time`);
  parts.push(data);
  return Buffer.concat(parts);
}

/** Legacy AVC sequence header: `0x17 00 000000` + AVCDecoderConfigurationRecord. */
export function avcSequenceHeader(avcC: Buffer): Buffer {
  return Buffer.concat([Buffer.of((KEY_FRAME << 4) | AVC_CODEC_ID, 0, 0, 0, 0), avcC]);
}

/** Legacy AVC NALU packet: `0x17`/`0x27`, 01, SI24 composition time, length-prefixed NAL units. */
export function avcFrame(keyframe: boolean, compositionTime: number, data: Buffer): Buffer {
  const head = Buffer.of(((keyframe ? KEY_FRAME : INTER_FRAME) << 4) | AVC_CODEC_ID, 1);
  return Buffer.concat([head, si24(compositionTime), data]);
}

/** Legacy AAC sequence header: `0xAF 00` + AudioSpecificConfig. */
export function aacSequenceHeader(asc: Buffer): Buffer {
  return Buffer.concat([Buffer.of(AAC_BYTE, 0), asc]);
}

/** Legacy AAC raw frame: `0xAF 01` + one raw AAC frame (no ADTS). */
export function aacFrame(raw: Buffer): Buffer {
  return Buffer.concat([Buffer.of(AAC_BYTE, 1), raw]);
}

/** E-RTMP audio SequenceStart for Opus: `0x90`, FourCC `Opus`, the OpusHead ID header. */
export function opusSequenceStart(opusHead: Buffer): Buffer {
  return Buffer.concat([Buffer.of((EX_AUDIO << 4) | SEQUENCE_START), fourcc('Opus'), opusHead]);
}

/** E-RTMP audio CodedFrames for Opus: `0x91`, FourCC `Opus`, one Opus packet. */
export function opusFrame(packet: Buffer): Buffer {
  return Buffer.concat([Buffer.of((EX_AUDIO << 4) | CODED_FRAMES), fourcc('Opus'), packet]);
}
