import type { StreamInfo } from '../core/stream.js';
import { parseAvcDecoderConfig, parseH264Sps } from './codecs/h264.js';
import { audioTrackFromConfig, videoTrackFromConfig } from './track-config.js';

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
    } else {
      const t = videoTrackFromConfig(codec, config);
      if (t)
        Object.assign(info, {
          width: t.width || undefined,
          height: t.height || undefined,
          profile: t.codecString,
        });
    }
  } catch {
    // the codec is known even when its configuration is not understood
  }
  return info;
}

export function describeAudioConfig(codec: string, config: Buffer): StreamInfo {
  const info: StreamInfo = { audioCodec: codec };
  try {
    const t = audioTrackFromConfig(codec, config);
    if (t)
      Object.assign(info, { sampleRate: t.sampleRate, channels: t.channels, audioProfile: t.codecString });
  } catch {
    // the codec is known even when its configuration is not understood
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
