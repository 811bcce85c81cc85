import type { StreamInfo } from '../core/stream.js';
import { aacCodecString, parseAudioSpecificConfig } from './codecs/aac.js';
import { parseAv1Config } from './codecs/av1.js';
import { parseAvcDecoderConfig, parseH264Sps } from './codecs/h264.js';
import { parseHevcDecoderConfig } from './codecs/hevc.js';
import { parseOpusHead } from './codecs/opus.js';

/** What a sequence header says about the stream (codec, profile, resolution, frame rate); never throws. */
export function describeVideoConfig(codec: string, config: Buffer): StreamInfo {
  const info: StreamInfo = { videoCodec: codec };
  try {
    if (codec === 'avc1') {
      const cfg = parseAvcDecoderConfig(config);
      if (cfg.sps[0]) {
        const sps = parseH264Sps(cfg.sps[0]);
        Object.assign(info, { width: sps.width, height: sps.height, frameRate: sps.frameRate });
        info.profile = h264ProfileName(sps.profile);
      }
    } else if (codec === 'hvc1') {
      const cfg = parseHevcDecoderConfig(config);
      Object.assign(info, {
        width: cfg.width,
        height: cfg.height,
        profile: `Main${cfg.profile === 2 ? ' 10' : ''}`,
      });
    } else if (codec === 'av01') {
      const cfg = parseAv1Config(config) as { profile: number; width?: number; height?: number };
      Object.assign(info, { width: cfg.width, height: cfg.height, profile: String(cfg.profile) });
    }
  } catch {
    // the codec is known even when its configuration is not understood
  }
  return info;
}

export function describeAudioConfig(codec: string, config: Buffer): StreamInfo {
  const info: StreamInfo = { audioCodec: codec };
  try {
    if (codec === 'mp4a') {
      const asc = parseAudioSpecificConfig(config);
      Object.assign(info, {
        sampleRate: asc.sampleRate,
        channels: asc.channels,
        audioProfile: aacCodecString(asc),
      });
    } else if (codec === 'Opus') {
      const head = parseOpusHead(config);
      Object.assign(info, { sampleRate: 48000, channels: head.channels });
    }
  } catch {
    // as above
  }
  return info;
}

function h264ProfileName(p: number): string {
  const names: Record<number, string> = {
    66: 'Baseline',
    77: 'Main',
    88: 'Extended',
    100: 'High',
    110: 'High 10',
  };
  return names[p] ?? String(p);
}
