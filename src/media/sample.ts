/**
 * The codec-level unit the segmenters (HLS/DASH) and muxers (MPEG-TS, fMP4) share: one access unit of one track,
 * without any FLV/RTMP framing. Times are in milliseconds on the stream's extended timeline (see core/timeline.ts);
 * each muxer converts to its own clock (90 kHz for TS, the track timescale for fMP4).
 */
export type VideoCodecId = 'avc1' | 'hvc1' | 'av01';
export type AudioCodecId = 'mp4a' | 'Opus';

export interface VideoTrack {
  kind: 'video';
  /** 1-based track id (fMP4) */
  id: number;
  codec: VideoCodecId;
  /** the decoder configuration record: avcC, hvcC or av1C payload (without box header) */
  config: Buffer;
  width: number;
  height: number;
  /** RFC 6381 codec string, e.g. avc1.64001f */
  codecString: string;
}

export interface AudioTrack {
  kind: 'audio';
  id: number;
  codec: AudioCodecId;
  /** AudioSpecificConfig (mp4a) or the OpusHead ID header (Opus) */
  config: Buffer;
  sampleRate: number;
  channels: number;
  /** RFC 6381 codec string, e.g. mp4a.40.2, opus */
  codecString: string;
}

export type Track = VideoTrack | AudioTrack;

export interface Sample {
  /** decode time, ms (may be fractional after conversion) */
  dts: number;
  /** presentation time, ms; pts >= dts */
  pts: number;
  /** a sync sample (IDR / key frame); audio samples are always sync */
  keyframe: boolean;
  /**
   * Video: length-prefixed NAL units exactly as in FLV/MP4 (4-byte lengths unless the config says otherwise),
   * or AV1 OBUs (low-overhead format). Audio: one raw AAC frame (no ADTS) or one Opus packet.
   */
  data: Buffer;
}
