/**
 * E-RTMP v2 enumerations: VideoFourCc / AudioFourCc ("makeFourCc", big-endian UI32), VideoPacketType
 * and AudioPacketType (enhanced-rtmp-v2 "Enhanced Video" / "Enhanced Audio" tables).
 */

export type VideoCodec = 'avc1' | 'hvc1' | 'av01' | 'vp09' | 'vp08' | 'vvc1' | 'h263' | 'vp6' | 'other';
export type AudioCodec = 'mp4a' | 'Opus' | 'fLaC' | 'ac-3' | 'ec-3' | '.mp3' | 'pcm' | 'other';

/** FourCC codes as big-endian UI32 (E-RTMP VideoFourCc/AudioFourCc); also onMetaData videocodecid/audiocodecid. */
export const FourCC: Record<string, number> = {
  avc1: 0x61766331,
  hvc1: 0x68766331,
  av01: 0x61763031,
  vp09: 0x76703039,
  vp08: 0x76703038,
  vvc1: 0x76766331,
  mp4a: 0x6d703461,
  Opus: 0x4f707573,
  fLaC: 0x664c6143,
  'ac-3': 0x61632d33,
  'ec-3': 0x65632d33,
  '.mp3': 0x2e6d7033,
};

/** E-RTMP VideoPacketType. Legacy AVC/HEVC packet types 0/1/2 map onto the first three. */
export const VideoPacketType = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  CodedFramesX: 3,
  Metadata: 4,
  MPEG2TSSequenceStart: 5,
  Multitrack: 6,
  ModEx: 7,
} as const;

/** E-RTMP AudioPacketType. Legacy AACPacketType 0/1 map onto the first two. */
export const AudioPacketType = {
  SequenceStart: 0,
  CodedFrames: 1,
  SequenceEnd: 2,
  MultichannelConfig: 4,
  Multitrack: 5,
  ModEx: 7,
} as const;

export function fourccName(fourcc: number): string {
  return String.fromCharCode(fourcc >>> 24, (fourcc >>> 16) & 0xff, (fourcc >>> 8) & 0xff, fourcc & 0xff);
}

const VIDEO_FOURCCS = new Set<string>(['avc1', 'hvc1', 'av01', 'vp09', 'vp08', 'vvc1']);
const AUDIO_FOURCCS = new Set<string>(['mp4a', 'Opus', 'fLaC', 'ac-3', 'ec-3', '.mp3']);

export function videoCodecOf(fourcc: number): VideoCodec {
  const name = fourccName(fourcc);
  return VIDEO_FOURCCS.has(name) ? (name as VideoCodec) : 'other';
}

export function audioCodecOf(fourcc: number): AudioCodec {
  const name = fourccName(fourcc);
  return AUDIO_FOURCCS.has(name) ? (name as AudioCodec) : 'other';
}
