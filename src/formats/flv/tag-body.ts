/**
 * Audio/video tag body parsing. An RTMP audio/video message payload is exactly an FLV tag body, so
 * this serves RTMP ingest and FLV files alike. Covers legacy FLV (FLV spec §E.4.2.1 AUDIODATA,
 * §E.4.3.1 VIDEODATA, §E.4.3.2 AVCVIDEOPACKET) and Enhanced RTMP v2 (ExVideoTagHeader /
 * ExAudioTagHeader with ModEx, Multitrack, FourCC; "Enhanced Video" / "Enhanced Audio" sections).
 * Only headers are read: payloads are located (dataOffset/dataLength), never copied.
 */
import { TidecastError } from '../../errors.js';
import {
  type AudioCodec,
  AudioPacketType,
  audioCodecOf,
  FourCC,
  fourccName,
  type VideoCodec,
  VideoPacketType,
  videoCodecOf,
} from './fourcc.js';
import { readExHeader, type TagTrack } from './tag-ex-header.js';

export type { AudioCodec, VideoCodec } from './fourcc.js';
export { AudioPacketType, FourCC, VideoPacketType } from './fourcc.js';
export type { TagTrack } from './tag-ex-header.js';

export interface VideoTagInfo {
  kind: 'video';
  codec: VideoCodec;
  enhanced: boolean;
  frameType: number;
  /** frameType 1 (KeyFrame); always false for Metadata and command frames. */
  keyframe: boolean;
  /** SequenceStart (or legacy AVC packet type 0) */
  isSequenceHeader: boolean;
  isSequenceEnd: boolean;
  isMetadata: boolean;
  isCommand: boolean;
  multitrack: boolean;
  compositionTime: number /* signed ms */;
  /** offset in the body where codec data (config record or frame data) starts */
  dataOffset: number;
  /** Byte count of that data (the first track's, for multitrack). */
  dataLength: number;
  /** VideoPacketType after ModEx/Multitrack resolution (legacy: the AVC packet type, else 1). */
  packetType: number;
  /** FourCC of the (first) track; 0 for legacy codecs without one. */
  fourcc: number;
  /** Track id of the first track (0 when not multitrack). */
  trackId: number;
  /** Every track in the message, first one mirrored in the fields above. Empty for command frames. */
  tracks: TagTrack[];
  /** VideoCommand (0 StartSeek, 1 EndSeek) for FrameType 5. */
  command?: number;
  /** ModEx TimestampOffsetNano (0..999999 ns on top of the message timestamp). */
  timestampNanoOffset?: number;
}

export interface AudioTagInfo {
  kind: 'audio';
  codec: AudioCodec;
  enhanced: boolean;
  isSequenceHeader: boolean;
  isSequenceEnd: boolean;
  multitrack: boolean;
  dataOffset: number;
  dataLength: number;
  /** SoundFormat nibble (9 = ExHeader); -1 for an empty (silence) message. */
  soundFormat: number;
  /** multichannel config etc: AudioPacketType after ModEx/Multitrack (legacy AAC/Opus: AACPacketType, else 1). */
  packetType: number;
  fourcc: number;
  trackId: number;
  tracks: TagTrack[];
  /** Zero-length audio message: "silence" (E-RTMP Enhanced Audio, AudioPacketType notes). */
  isSilence: boolean;
  /** Parsed MultichannelConfig body of the first track. */
  multichannel?: { order: number; channels: number; mask?: number; mapping?: number[] };
  timestampNanoOffset?: number;
}

function bad(msg: string): TidecastError {
  return new TidecastError('FLV_BAD_TAG', msg);
}

/** Legacy CodecIDs carrying AVCPacketType + SI24 CompositionTime: 7 AVC (§E.4.3.1), 12 HEVC, 13 AV1 (non-standard). */
const LEGACY_NALU_CODECS: Record<number, VideoCodec> = { 7: 'avc1', 12: 'hvc1', 13: 'av01' };

/** Codecs whose CodedFrames carry an SI24 composition time offset (E-RTMP ExVideoTagBody). */
const CTS_FOURCCS = new Set([FourCC.avc1, FourCC.hvc1, FourCC.vvc1]);

function readSI24(body: Buffer, off: number): number {
  return (((body[off] << 16) | (body[off + 1] << 8) | body[off + 2]) << 8) >> 8;
}

export function parseVideoTagBody(body: Buffer): VideoTagInfo {
  if (body.length < 1) throw bad('empty video tag body');
  const b0 = body[0];
  const frameType = (b0 >> 4) & 0x07;
  const info: VideoTagInfo = {
    kind: 'video',
    codec: 'other',
    enhanced: (b0 & 0x80) !== 0,
    frameType,
    keyframe: false,
    isSequenceHeader: false,
    isSequenceEnd: false,
    isMetadata: false,
    isCommand: false,
    multitrack: false,
    compositionTime: 0,
    dataOffset: 1,
    dataLength: body.length - 1,
    packetType: VideoPacketType.CodedFrames,
    fourcc: 0,
    trackId: 0,
    tracks: [],
  };
  if (!info.enhanced) {
    // Legacy VideoTagHeader (§E.4.3.1): FrameType UB[4] (top bit 0 here) + CodecID UB[4].
    const codecId = b0 & 0x0f;
    const nalu = LEGACY_NALU_CODECS[codecId];
    info.codec = nalu ?? (codecId === 2 ? 'h263' : codecId === 4 || codecId === 5 ? 'vp6' : 'other');
    info.fourcc = FourCC[info.codec] ?? 0;
    if (frameType === 5) return command(body, info, 1);
    if (nalu) {
      // AVCVIDEOPACKET header: AVCPacketType UI8 + CompositionTime SI24 (0 unless packet type 1).
      if (body.length < 5) throw bad(`legacy ${nalu} video tag shorter than 5 bytes`);
      info.packetType = body[1];
      if (info.packetType === 1) info.compositionTime = readSI24(body, 2);
      info.dataOffset = 5;
    }
    info.dataLength = body.length - info.dataOffset;
    info.tracks = [mainTrack(info)];
    return finish(info);
  }
  // ExVideoTagHeader: ModEx loop, command frames, Multitrack, FourCC; then the track list.
  const ex = readExHeader(body, {
    media: 'video',
    modEx: VideoPacketType.ModEx,
    multitrack: VideoPacketType.Multitrack,
    isCommand: (pt) => frameType === 5 && pt !== VideoPacketType.Metadata,
  });
  info.packetType = ex.packetType;
  if (ex.timestampNanoOffset !== undefined) info.timestampNanoOffset = ex.timestampNanoOffset;
  if (ex.commandOffset !== undefined) return command(body, info, ex.commandOffset);
  if (info.packetType > VideoPacketType.MPEG2TSSequenceStart) {
    throw bad(`reserved/invalid VideoPacketType ${info.packetType}`);
  }
  info.multitrack = ex.multitrack;
  for (const t of ex.tracks) {
    if (info.packetType === VideoPacketType.CodedFrames && CTS_FOURCCS.has(t.fourcc)) {
      if (t.dataLength < 3) throw bad(`${fourccName(t.fourcc)} CodedFrames without composition time`);
      t.compositionTime = readSI24(body, t.dataOffset);
      t.dataOffset += 3;
      t.dataLength -= 3;
    }
  }
  info.tracks = ex.tracks;
  const first = ex.tracks[0];
  info.fourcc = first.fourcc;
  info.codec = videoCodecOf(first.fourcc);
  info.trackId = first.trackId;
  info.compositionTime = first.compositionTime;
  info.dataOffset = first.dataOffset;
  info.dataLength = first.dataLength;
  return finish(info);
}

function command(body: Buffer, info: VideoTagInfo, off: number): VideoTagInfo {
  // FrameType 5: a UI8 VideoCommand instead of video data (§E.4.3.1 VideoTagBody; E-RTMP ExVideoTagHeader).
  if (off >= body.length) throw bad('video command frame without command byte');
  info.isCommand = true;
  info.command = body[off];
  info.dataOffset = off;
  info.dataLength = body.length - off;
  return info;
}

function mainTrack(info: { fourcc: number; dataOffset: number; dataLength: number }): TagTrack {
  return {
    trackId: 0,
    fourcc: info.fourcc,
    dataOffset: info.dataOffset,
    dataLength: info.dataLength,
    compositionTime: 0,
  };
}

function finish(info: VideoTagInfo): VideoTagInfo {
  if (info.tracks.length > 0) info.tracks[0].compositionTime = info.compositionTime;
  info.isSequenceHeader = info.packetType === VideoPacketType.SequenceStart;
  info.isSequenceEnd = info.packetType === VideoPacketType.SequenceEnd;
  info.isMetadata = info.enhanced && info.packetType === VideoPacketType.Metadata;
  info.keyframe = info.frameType === 1 && !info.isMetadata;
  return info;
}

/** Legacy SoundFormat -> codec (§E.4.2.1; 13 = Opus is a non-standard SRS/xgplayer convention). */
function legacyAudioCodec(soundFormat: number): AudioCodec {
  if (soundFormat === 10) return 'mp4a';
  if (soundFormat === 13) return 'Opus';
  if (soundFormat === 2 || soundFormat === 14) return '.mp3';
  if (soundFormat === 0 || soundFormat === 3) return 'pcm';
  return 'other';
}

export function parseAudioTagBody(body: Buffer): AudioTagInfo {
  const info: AudioTagInfo = {
    kind: 'audio',
    codec: 'other',
    enhanced: false,
    isSequenceHeader: false,
    isSequenceEnd: false,
    multitrack: false,
    dataOffset: 0,
    dataLength: 0,
    soundFormat: -1,
    packetType: AudioPacketType.CodedFrames,
    fourcc: 0,
    trackId: 0,
    tracks: [],
    isSilence: body.length === 0,
  };
  if (body.length === 0) return info;
  info.soundFormat = body[0] >> 4;
  if (info.soundFormat !== 9) {
    // Legacy AudioTagHeader (§E.4.2.1); AAC (and SRS Opus) add a packet type byte (§E.4.2.2).
    info.codec = legacyAudioCodec(info.soundFormat);
    info.fourcc = FourCC[info.codec] ?? 0;
    info.dataOffset = 1;
    if (info.soundFormat === 10 || info.soundFormat === 13) {
      if (body.length < 2) throw bad('AAC/Opus audio tag without packet type');
      info.packetType = body[1];
      info.dataOffset = 2;
    }
    info.dataLength = body.length - info.dataOffset;
    info.tracks = [mainTrack(info)];
    info.isSequenceHeader = info.packetType === AudioPacketType.SequenceStart;
    return info;
  }
  // ExAudioTagHeader (SoundFormat 9): low nibble is AudioPacketType.
  info.enhanced = true;
  const ex = readExHeader(body, {
    media: 'audio',
    modEx: AudioPacketType.ModEx,
    multitrack: AudioPacketType.Multitrack,
    isCommand: () => false,
  });
  const pt = ex.packetType;
  if (pt === 3 || pt === 6 || pt > AudioPacketType.ModEx) throw bad(`reserved AudioPacketType ${pt}`);
  info.packetType = pt;
  info.multitrack = ex.multitrack;
  if (ex.timestampNanoOffset !== undefined) info.timestampNanoOffset = ex.timestampNanoOffset;
  info.tracks = ex.tracks;
  const first = ex.tracks[0];
  info.fourcc = first.fourcc;
  info.codec = audioCodecOf(first.fourcc);
  info.trackId = first.trackId;
  info.dataOffset = first.dataOffset;
  info.dataLength = first.dataLength;
  info.isSequenceHeader = pt === AudioPacketType.SequenceStart;
  info.isSequenceEnd = pt === AudioPacketType.SequenceEnd;
  if (pt === AudioPacketType.MultichannelConfig) {
    info.multichannel = readMultichannel(
      body.subarray(first.dataOffset, first.dataOffset + first.dataLength),
    );
  }
  return info;
}

/** MultichannelConfig body (E-RTMP ExAudioTagBody): order UI8, channelCount UI8, mask UI32 or map. */
function readMultichannel(d: Buffer): NonNullable<AudioTagInfo['multichannel']> {
  if (d.length < 2) throw bad('truncated MultichannelConfig');
  const order = d[0];
  const channels = d[1];
  if (order === 1) {
    if (d.length < 6) throw bad('truncated MultichannelConfig channel mask');
    return { order, channels, mask: d.readUInt32BE(2) };
  }
  if (order === 2) {
    if (d.length < 2 + channels) throw bad('truncated MultichannelConfig channel mapping');
    return { order, channels, mapping: [...d.subarray(2, 2 + channels)] };
  }
  return { order, channels };
}
