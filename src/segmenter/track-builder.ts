import { parseAudioTagBody, parseVideoTagBody } from '../formats/flv/tag-body.js';
import type { Frame } from '../media/frame.js';
import type { AudioTrack, Sample, VideoTrack } from '../media/sample.js';
import { audioTrackFromConfig, videoTrackFromConfig } from '../media/track-config.js';

export type BuiltSample = { kind: 'video' | 'audio'; sample: Sample };

/**
 * Turns FLV-bodied Frames into codec tracks and samples for the segmenters: sequence headers become track
 * configurations (with codec strings and sizes), coded frames become samples (dts = frame time,
 * pts = dts + composition offset). Codecs HLS/DASH cannot carry (VP9 in TS, FLAC, ...) are ignored.
 * Pure: no I/O, no timers.
 */
export class TrackBuilder {
  video: VideoTrack | undefined;
  audio: AudioTrack | undefined;
  /** bumped whenever a track's configuration changes (a discontinuity for the playlists) */
  configVersion = 0;

  /** Returns the sample a frame carries, if any; updates tracks on sequence headers. Never throws. */
  accept(f: Frame): BuiltSample | undefined {
    try {
      if (f.isVideo) return this.acceptVideo(f);
      if (f.isAudio) return this.acceptAudio(f);
    } catch {
      // a frame we cannot describe is skipped by the segmenter (the RTMP/FLV players still get it)
    }
    return undefined;
  }

  private acceptVideo(f: Frame): BuiltSample | undefined {
    const info = parseVideoTagBody(f.body);
    if (info.multitrack || info.isCommand || info.isMetadata || info.isSequenceEnd) return undefined;
    const data = f.body.subarray(info.dataOffset, info.dataOffset + info.dataLength);
    if (info.isSequenceHeader) {
      if (data.length === 0) return undefined; // E-RTMP files open with an empty SequenceStart
      const track = videoTrackFromConfig(info.codec, data);
      if (track && !sameConfig(this.video?.config, track.config)) {
        this.video = track;
        this.configVersion++;
      }
      return undefined;
    }
    if (!this.video || this.video.codec !== info.codec || data.length === 0) return undefined;
    const dts = f.timestamp;
    const pts = dts + Math.max(0, info.compositionTime);
    return { kind: 'video', sample: { dts, pts, keyframe: info.keyframe, data } };
  }

  private acceptAudio(f: Frame): BuiltSample | undefined {
    const info = parseAudioTagBody(f.body);
    if (info.multitrack || info.isSilence || info.isSequenceEnd) return undefined;
    const data = f.body.subarray(info.dataOffset, info.dataOffset + info.dataLength);
    if (info.isSequenceHeader) {
      if (data.length === 0) return undefined;
      const track = audioTrackFromConfig(info.codec, data);
      if (track && !sameConfig(this.audio?.config, track.config)) {
        this.audio = track;
        this.configVersion++;
      }
      return undefined;
    }
    if (!this.audio || this.audio.codec !== info.codec || data.length === 0 || info.packetType !== 1)
      return undefined;
    return { kind: 'audio', sample: { dts: f.timestamp, pts: f.timestamp, keyframe: true, data } };
  }
}

function sameConfig(a: Buffer | undefined, b: Buffer): boolean {
  return a?.equals(b) === true;
}
