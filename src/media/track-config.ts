import { aacCodecString, parseAudioSpecificConfig } from './codecs/aac.js';
import { av1CodecString, parseAv1Config } from './codecs/av1.js';
import { avcCodecString, parseAvcDecoderConfig, parseH264Sps } from './codecs/h264.js';
import { hevcCodecString, parseHevcDecoderConfig } from './codecs/hevc.js';
import { parseOpusHead } from './codecs/opus.js';
import type { AudioTrack, VideoTrack } from './sample.js';

/**
 * A codec track from a sequence header's configuration record (avcC, hvcC, av1C, AudioSpecificConfig, OpusHead):
 * codec string, size, rate, channels. Used by the segmenters and by the stream info. Throws on a bad record;
 * undefined for codecs HLS/DASH cannot carry.
 */
export function videoTrackFromConfig(codec: string, config: Buffer): VideoTrack | undefined {
  const copy = Buffer.from(config);
  if (codec === 'avc1') {
    const cfg = parseAvcDecoderConfig(copy);
    const sps = cfg.sps[0] ? parseH264Sps(cfg.sps[0]) : undefined;
    return {
      kind: 'video',
      id: 1,
      codec,
      config: copy,
      width: sps?.width ?? 0,
      height: sps?.height ?? 0,
      codecString: avcCodecString(cfg),
    };
  }
  if (codec === 'hvc1') {
    const cfg = parseHevcDecoderConfig(copy);
    return {
      kind: 'video',
      id: 1,
      codec,
      config: copy,
      width: cfg.width ?? 0,
      height: cfg.height ?? 0,
      codecString: hevcCodecString(cfg),
    };
  }
  if (codec === 'av01') {
    const cfg = parseAv1Config(copy);
    return {
      kind: 'video',
      id: 1,
      codec,
      config: copy,
      width: cfg.width ?? 0,
      height: cfg.height ?? 0,
      codecString: av1CodecString(cfg),
    };
  }
  return undefined;
}

export function audioTrackFromConfig(codec: string, config: Buffer): AudioTrack | undefined {
  const copy = Buffer.from(config);
  if (codec === 'mp4a') {
    const asc = parseAudioSpecificConfig(copy);
    return {
      kind: 'audio',
      id: 2,
      codec,
      config: copy,
      sampleRate: asc.sampleRate,
      channels: asc.channels,
      codecString: aacCodecString(asc),
    };
  }
  if (codec === 'Opus') {
    const head = parseOpusHead(copy);
    return {
      kind: 'audio',
      id: 2,
      codec,
      config: copy,
      sampleRate: 48000,
      channels: head.channels,
      codecString: 'opus',
    };
  }
  return undefined;
}
