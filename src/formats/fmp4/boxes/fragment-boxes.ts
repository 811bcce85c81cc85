/**
 * Movie fragment boxes (ISO/IEC 14496-12 §8.8): `moof` §8.8.4, `mfhd` §8.8.5, `traf` §8.8.6,
 * `tfhd` §8.8.7, `trun` §8.8.8, `tfdt` §8.8.12, and the `mdat` header §8.1.1.
 */
import { box, boxHeader, fullBox, u32, u64 } from './box.js';

/** MovieFragmentHeaderBox (§8.8.5): sequence_number, increasing by fragment. */
export function mfhd(sequenceNumber: number): Buffer {
  return fullBox('mfhd', 0, 0, u32(sequenceNumber));
}

/** tf_flags default-base-is-moof (§8.8.7.1): data offsets count from the first byte of the enclosing moof. */
export const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;

/** TrackFragmentHeaderBox (§8.8.7): track_ID only; every sample property is given in the trun. */
export function tfhd(trackId: number): Buffer {
  return fullBox('tfhd', 0, TFHD_DEFAULT_BASE_IS_MOOF, u32(trackId));
}

/**
 * TrackFragmentBaseMediaDecodeTimeBox (§8.8.12), always version 1: a 64-bit baseMediaDecodeTime.
 * A 32-bit one at 90 kHz wraps after 13.25 h of streaming.
 */
export function tfdt(baseMediaDecodeTime: number): Buffer {
  return fullBox('tfdt', 1, 0, u64(baseMediaDecodeTime));
}

/** tr_flags (§8.8.8.1). */
export const TRUN_DATA_OFFSET = 0x000001;
export const TRUN_SAMPLE_DURATION = 0x000100;
export const TRUN_SAMPLE_SIZE = 0x000200;
export const TRUN_SAMPLE_FLAGS = 0x000400;
export const TRUN_SAMPLE_CTO = 0x000800;

/**
 * Sample flags (§8.8.3.1): sample_depends_on = 2 ("does not depend on others": an I/IDR/key frame,
 * and every audio frame).
 */
export const SAMPLE_FLAGS_SYNC = 0x02000000;
/** sample_depends_on = 1 ("depends on others") | sample_is_non_sync_sample = 1. */
export const SAMPLE_FLAGS_NON_SYNC = 0x01010000;

export interface TrunSample {
  /** ticks of the track timescale */
  duration: number;
  /** bytes */
  size: number;
  flags: number;
  /** signed ticks: presentation time - decode time */
  compositionOffset: number;
}

/**
 * TrackRunBox (§8.8.8), version 1 so that sample_composition_time_offset is signed. Every sample
 * carries duration, size and flags; composition offsets are written only when `withCompositionOffsets`
 * (video). `dataOffset` is counted from the start of the moof (default-base-is-moof).
 */
export function trun(samples: TrunSample[], dataOffset: number, withCompositionOffsets: boolean): Buffer {
  const flags =
    TRUN_DATA_OFFSET |
    TRUN_SAMPLE_DURATION |
    TRUN_SAMPLE_SIZE |
    TRUN_SAMPLE_FLAGS |
    (withCompositionOffsets ? TRUN_SAMPLE_CTO : 0);
  const perSample = withCompositionOffsets ? 16 : 12;
  const body = Buffer.allocUnsafe(8 + samples.length * perSample);
  body.writeUInt32BE(samples.length, 0); // sample_count
  body.writeInt32BE(dataOffset, 4); // data_offset
  let off = 8;
  for (const s of samples) {
    body.writeUInt32BE(s.duration, off);
    body.writeUInt32BE(s.size, off + 4);
    body.writeUInt32BE(s.flags, off + 8);
    if (withCompositionOffsets) body.writeInt32BE(s.compositionOffset, off + 12);
    off += perSample;
  }
  return fullBox('trun', 1, flags, body);
}

/** TrackFragmentBox (§8.8.6): tfhd, tfdt, trun in that order. */
export function traf(trackId: number, baseMediaDecodeTime: number, run: Buffer): Buffer {
  return box('traf', tfhd(trackId), tfdt(baseMediaDecodeTime), run);
}

/** MovieFragmentBox (§8.8.4): mfhd then one traf per track. */
export function moof(sequenceNumber: number, trafs: Buffer[]): Buffer {
  return box('moof', mfhd(sequenceNumber), ...trafs);
}

/** MediaDataBox header (§8.1.1) for `payloadSize` bytes of sample data (largesize beyond 4 GiB). */
export function mdatHeader(payloadSize: number): Buffer {
  return boxHeader('mdat', payloadSize);
}
