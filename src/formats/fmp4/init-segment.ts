/**
 * fMP4/CMAF initialization segment (ISO/IEC 14496-12 §8.8, ISO/IEC 23000-19 §7.3.1): `ftyp` +
 * `moov` (`mvhd`, one `trak` per track with empty sample tables, `mvex` with one `trex` per track).
 * Nothing here depends on media timing, so the init segment only changes when a track's codec
 * configuration does.
 */
import type { AudioTrack, Track, VideoTrack } from '../../media/sample.js';
import { mp4a, opus } from './boxes/audio-entry.js';
import { box } from './boxes/box.js';
import { ftyp } from './boxes/ftyp.js';
import { dinf, smhd, stbl, vmhd } from './boxes/media-info.js';
import { hdlr, mdhd, mvex, mvhd, tkhd } from './boxes/movie.js';
import { av01, avc1, hvc1 } from './boxes/video-entry.js';
import { trackTimescale } from './timescale.js';

function videoEntry(t: VideoTrack): Buffer {
  switch (t.codec) {
    case 'avc1':
      return avc1(t.width, t.height, t.config);
    case 'hvc1':
      return hvc1(t.width, t.height, t.config);
    case 'av01':
      return av01(t.width, t.height, t.config);
    default:
      throw new RangeError(`video codec ${(t as VideoTrack).codec} is not supported in fMP4`);
  }
}

function audioEntry(t: AudioTrack): Buffer {
  switch (t.codec) {
    case 'mp4a':
      return mp4a(t.channels, t.sampleRate, t.config);
    case 'Opus':
      return opus(t.config);
    default:
      throw new RangeError(`audio codec ${(t as AudioTrack).codec} is not supported in fMP4`);
  }
}

/** MediaInformationBox (§8.4.4): media header, data information, sample table. */
function minf(track: Track): Buffer {
  const entry = track.kind === 'video' ? videoEntry(track) : audioEntry(track);
  return box('minf', track.kind === 'video' ? vmhd() : smhd(), dinf(), stbl(entry));
}

/** MediaBox (§8.4.1): mdhd (timescale), hdlr, minf. */
function mdia(track: Track): Buffer {
  const handler = track.kind === 'video' ? hdlr('vide', 'VideoHandler') : hdlr('soun', 'SoundHandler');
  return box('mdia', mdhd(trackTimescale(track)), handler, minf(track));
}

/** TrackBox (§8.3.1): tkhd + mdia. */
function trak(track: Track): Buffer {
  const header =
    track.kind === 'video'
      ? tkhd(track.id, { audio: false, width: track.width, height: track.height })
      : tkhd(track.id, { audio: true });
  return box('trak', header, mdia(track));
}

/** Brands a codec asks for in ftyp: `av01` (AV1-ISOBMFF §2.1), `Opus` (Opus-in-ISOBMFF §4.1). */
function codecBrands(tracks: Track[]): string[] {
  const brands: string[] = [];
  if (tracks.some((t) => t.codec === 'av01')) brands.push('av01');
  if (tracks.some((t) => t.codec === 'Opus')) brands.push('Opus');
  return brands;
}

/**
 * The init segment for these tracks, in the given order. Track ids must be distinct positive
 * integers and match the ids later used in fragments. Throws RangeError for an empty track list,
 * duplicate ids or an unsupported codec, and TidecastError for an unparsable OpusHead.
 */
export function initSegment(tracks: Track[]): Buffer {
  if (tracks.length === 0) throw new RangeError('an init segment needs at least one track');
  const ids = new Set<number>();
  for (const t of tracks) {
    if (!Number.isInteger(t.id) || t.id < 1 || t.id > 0xffffffff)
      throw new RangeError(`bad track id ${t.id}`);
    if (ids.has(t.id)) throw new RangeError(`duplicate track id ${t.id}`);
    ids.add(t.id);
  }
  const nextTrackId = Math.max(...ids) + 1;
  const moov = box('moov', mvhd(nextTrackId), ...tracks.map(trak), mvex(tracks.map((t) => t.id)));
  return Buffer.concat([ftyp(codecBrands(tracks)), moov]);
}
