/**
 * Track timescales and the ms -> tick conversion of fMP4 fragments. Times are converted by rounding
 * the absolute time and durations are differences of rounded absolute times, so a track's decode
 * timeline never drifts from the ms timeline, whatever the fragment boundaries.
 */
import type { Sample, Track } from '../../media/sample.js';
import { OPUS_SAMPLE_RATE } from './boxes/audio-entry.js';

/** Video media timescale (mdhd, ISO/IEC 14496-12 §8.4.2): 90 kHz, exact for ms and common frame rates. */
export const VIDEO_TIMESCALE = 90000;

/** mdhd timescale of a track: 90000 for video, the sample rate for audio (48000 for Opus). */
export function trackTimescale(track: Track): number {
  if (track.kind === 'video') return VIDEO_TIMESCALE;
  if (track.codec === 'Opus') return OPUS_SAMPLE_RATE;
  if (!Number.isInteger(track.sampleRate) || track.sampleRate <= 0) {
    throw new RangeError(`audio track ${track.id}: bad sample rate ${track.sampleRate}`);
  }
  return track.sampleRate;
}

/** An absolute time in ms as ticks of `timescale`, rounded to nearest. */
export function msToTicks(ms: number, timescale: number): number {
  return Math.round((ms * timescale) / 1000);
}

export interface RunTiming {
  /** tfdt baseMediaDecodeTime: the first sample's decode time in ticks. */
  baseDecodeTime: number;
  /** per sample, ticks */
  durations: number[];
  /** per sample, signed ticks (pts - dts, each rounded on its own) */
  compositionOffsets: number[];
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;

/**
 * Timing of one track run in ticks. Throws RangeError for a negative or non-finite dts, decode
 * times going backwards, or values that do not fit the trun fields.
 */
export function runTiming(samples: Sample[], lastDuration: number, timescale: number): RunTiming {
  const dts = samples.map((s, i) => {
    if (!Number.isFinite(s.dts) || !Number.isFinite(s.pts)) {
      throw new RangeError(`sample ${i}: non-finite time (dts ${s.dts}, pts ${s.pts})`);
    }
    return msToTicks(s.dts, timescale);
  });
  if (dts.length === 0) throw new RangeError('a track run needs at least one sample');
  if (dts[0] < 0) throw new RangeError(`negative decode time ${samples[0].dts} ms`);
  if (!Number.isFinite(lastDuration) || lastDuration < 0) {
    throw new RangeError(`bad last sample duration ${lastDuration} ms`);
  }
  const last = samples.length - 1;
  const end = msToTicks(samples[last].dts + lastDuration, timescale);
  const durations: number[] = [];
  const compositionOffsets: number[] = [];
  for (let i = 0; i <= last; i++) {
    const next = i < last ? dts[i + 1] : end;
    const d = next - dts[i];
    if (d < 0) throw new RangeError(`decode time goes backwards at sample ${i + 1}`);
    if (d > 0xffffffff) throw new RangeError(`sample ${i} duration ${d} ticks overflows 32 bits`);
    durations.push(d);
    const cto = msToTicks(samples[i].pts, timescale) - dts[i];
    if (cto < INT32_MIN || cto > INT32_MAX) throw new RangeError(`sample ${i} composition offset overflows`);
    compositionOffsets.push(cto);
  }
  return { baseDecodeTime: dts[0], durations, compositionOffsets };
}
