/**
 * fMP4/CMAF movie fragment (ISO/IEC 14496-12 §8.8; a CMAF chunk/fragment, ISO/IEC 23000-19 §7.3.2):
 * one `moof` (`mfhd`, one `traf` per track run: `tfhd` with default-base-is-moof, `tfdt` v1, `trun`
 * v1) followed by one `mdat` holding every run's sample data, runs in order. An LL-HLS part is one or
 * more of these; a segment is the concatenation of its parts (optionally after a `styp`, see
 * boxes/ftyp.ts).
 */
import type { Sample, Track } from '../../media/sample.js';
import { av1SampleData } from './av1-sample.js';
import {
  mdatHeader,
  moof,
  SAMPLE_FLAGS_NON_SYNC,
  SAMPLE_FLAGS_SYNC,
  type TrunSample,
  traf,
  trun,
} from './boxes/fragment-boxes.js';
import { runTiming, trackTimescale } from './timescale.js';

export interface TrackRun {
  track: Track;
  samples: Sample[];
  /** duration of the last sample, ms (the next sample's dts is unknown) */
  lastDuration: number;
}

interface PreparedRun {
  trackId: number;
  baseDecodeTime: number;
  samples: TrunSample[];
  data: Buffer[];
  withCompositionOffsets: boolean;
}

function prepare(run: TrackRun): PreparedRun {
  const { track } = run;
  const timing = runTiming(run.samples, run.lastDuration, trackTimescale(track));
  const video = track.kind === 'video';
  const data = run.samples.map((s) => (track.codec === 'av01' ? av1SampleData(s.data) : s.data));
  const samples = run.samples.map(
    (s, i): TrunSample => ({
      duration: timing.durations[i],
      size: data[i].length,
      // Audio frames (AAC, Opus) are all sync samples.
      flags: !video || s.keyframe ? SAMPLE_FLAGS_SYNC : SAMPLE_FLAGS_NON_SYNC,
      compositionOffset: video ? timing.compositionOffsets[i] : 0,
    }),
  );
  return {
    trackId: track.id,
    baseDecodeTime: timing.baseDecodeTime,
    samples,
    data,
    withCompositionOffsets: video,
  };
}

function buildMoof(sequenceNumber: number, runs: PreparedRun[], dataOffsets: number[]): Buffer {
  return moof(
    sequenceNumber,
    runs.map((r, i) =>
      traf(r.trackId, r.baseDecodeTime, trun(r.samples, dataOffsets[i], r.withCompositionOffsets)),
    ),
  );
}

/**
 * moof + mdat for the given runs (runs without samples are left out; at least one sample overall
 * is required). Times: baseMediaDecodeTime = round(first dts x timescale / 1000); each duration is
 * the difference of consecutive rounded decode times (the last one ends at dts + lastDuration);
 * composition offsets are round(pts) - round(dts), signed (trun v1). Throws RangeError on bad
 * timing (see runTiming) or on values that do not fit their fields.
 */
export function fragment(sequenceNumber: number, runs: TrackRun[]): Buffer {
  const prepared = runs.filter((r) => r.samples.length > 0).map(prepare);
  if (prepared.length === 0) throw new RangeError('a fragment needs at least one sample');
  const ids = new Set(prepared.map((r) => r.trackId));
  if (ids.size !== prepared.length) throw new RangeError('one run per track in a fragment');

  let payloadSize = 0;
  const runSizes = prepared.map((r) => {
    let n = 0;
    for (const s of r.samples) n += s.size;
    payloadSize += n;
    return n;
  });
  const header = mdatHeader(payloadSize);
  // The moof size does not depend on the data_offset values: size it first, then write the real ones.
  const moofSize = buildMoof(
    sequenceNumber,
    prepared,
    prepared.map(() => 0),
  ).length;
  const offsets: number[] = [];
  let at = moofSize + header.length;
  for (const size of runSizes) {
    offsets.push(at);
    at += size;
  }
  const moofBox = buildMoof(sequenceNumber, prepared, offsets);

  const out = Buffer.allocUnsafe(moofBox.length + header.length + payloadSize);
  moofBox.copy(out, 0);
  header.copy(out, moofBox.length);
  let pos = moofBox.length + header.length;
  for (const r of prepared) {
    for (const d of r.data) {
      d.copy(out, pos);
      pos += d.length;
    }
  }
  return out;
}
