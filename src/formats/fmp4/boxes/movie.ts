/**
 * Movie- and track-level header boxes of an fMP4 init segment (ISO/IEC 14496-12): `mvhd` §8.2.2,
 * `tkhd` §8.3.2, `mdhd` §8.4.2, `hdlr` §8.4.3, `mvex` §8.8.1 and `trex` §8.8.3. Durations are 0:
 * a fragmented live movie has no known duration (§8.8.1: the duration is the sum of the fragments).
 */
import { box, cstring, fixed16_16, fourcc, fullBox, i16, u16, u32, unityMatrix, zeros } from './box.js';

/** Timescale of the movie header: ms (only used for the zero movie duration). */
export const MOVIE_TIMESCALE = 1000;

/** MovieHeaderBox (§8.2.2), version 0. */
export function mvhd(nextTrackId: number): Buffer {
  return fullBox(
    'mvhd',
    0,
    0,
    u32(0), // creation_time
    u32(0), // modification_time
    u32(MOVIE_TIMESCALE),
    u32(0), // duration: unknown (fragmented)
    u32(0x00010000), // rate 1.0 (16.16)
    i16(0x0100), // volume 1.0 (8.8)
    zeros(2 + 8), // reserved bit(16) + unsigned int(32)[2]
    unityMatrix(),
    zeros(24), // pre_defined bit(32)[6]
    u32(nextTrackId),
  );
}

/** tkhd flags (§8.3.2): track_enabled 0x1 | track_in_movie 0x2. */
const TKHD_ENABLED_IN_MOVIE = 0x000003;

/** TrackHeaderBox (§8.3.2), version 0; width/height are 16.16 and 0 for audio, volume 1.0 for audio only. */
export function tkhd(trackId: number, opts: { audio: boolean; width?: number; height?: number }): Buffer {
  return fullBox(
    'tkhd',
    0,
    TKHD_ENABLED_IN_MOVIE,
    u32(0), // creation_time
    u32(0), // modification_time
    u32(trackId),
    u32(0), // reserved
    u32(0), // duration: unknown
    zeros(8), // reserved unsigned int(32)[2]
    i16(0), // layer
    i16(0), // alternate_group
    i16(opts.audio ? 0x0100 : 0), // volume
    u16(0), // reserved
    unityMatrix(),
    fixed16_16(opts.width ?? 0),
    fixed16_16(opts.height ?? 0),
  );
}

/** ISO-639-2/T "und" packed as three 5-bit letters minus 0x60 (§8.4.2): 0x55C4. */
const LANGUAGE_UND = ((0x75 - 0x60) << 10) | ((0x6e - 0x60) << 5) | (0x64 - 0x60);

/** MediaHeaderBox (§8.4.2), version 0: the track timescale that every fragment time is counted in. */
export function mdhd(timescale: number): Buffer {
  return fullBox(
    'mdhd',
    0,
    0,
    u32(0), // creation_time
    u32(0), // modification_time
    u32(timescale),
    u32(0), // duration: unknown
    u16(LANGUAGE_UND), // pad(1) + language
    u16(0), // pre_defined
  );
}

/** HandlerBox (§8.4.3): `vide` or `soun` plus a human-readable name. */
export function hdlr(handlerType: 'vide' | 'soun', name: string): Buffer {
  return fullBox(
    'hdlr',
    0,
    0,
    u32(0), // pre_defined
    fourcc(handlerType),
    zeros(12), // reserved unsigned int(32)[3]
    cstring(name),
  );
}

/** TrackExtendsBox (§8.8.3): defaults for the track's fragments; every trun here overrides them. */
export function trex(trackId: number): Buffer {
  return fullBox(
    'trex',
    0,
    0,
    u32(trackId),
    u32(1), // default_sample_description_index
    u32(0), // default_sample_duration
    u32(0), // default_sample_size
    u32(0), // default_sample_flags
  );
}

/** MovieExtendsBox (§8.8.1): announces movie fragments; one trex per track. */
export function mvex(trackIds: number[]): Buffer {
  return box('mvex', ...trackIds.map(trex));
}
