/**
 * The part of the E-RTMP v2 ExVideoTagHeader / ExAudioTagHeader shared by audio and video: the
 * ModEx loop, command detection, Multitrack (AvMultitrackType) and FourCC, followed by the track
 * list of the Ex*TagBody ("Enhanced Audio" / "Enhanced Video" sections of enhanced-rtmp-v2).
 */
import { TidecastError } from '../../errors.js';

/** One track's payload inside a tag body. */
export interface TagTrack {
  /** UI8 trackId (0 when the message is not multitrack). */
  trackId: number;
  fourcc: number;
  /** Offset in the body of this track's codec data (after any composition time). */
  dataOffset: number;
  dataLength: number;
  /** Signed ms; only `avc1`/`hvc1`/`vvc1` CodedFrames carry one, otherwise 0. */
  compositionTime: number;
}

export interface ExHeaderOptions {
  media: 'audio' | 'video';
  /** The ModEx packet type value (7 for both media). */
  modEx: number;
  /** The Multitrack packet type value (video 6, audio 5). */
  multitrack: number;
  /** True when the (post-ModEx) packet type means a command frame with a UI8 command and no FourCC. */
  isCommand: (packetType: number) => boolean;
}

export interface ExHeader {
  packetType: number;
  multitrack: boolean;
  /** AvMultitrackType: 0 OneTrack, 1 ManyTracks, 2 ManyTracksManyCodecs. */
  multitrackType?: number;
  /** At least one entry unless `commandOffset` is set. */
  tracks: TagTrack[];
  /** Offset of the UI8 command byte for command frames. */
  commandOffset?: number;
  timestampNanoOffset?: number;
}

const MANY_TRACKS_MANY_CODECS = 2;

/** Parses everything after byte 0 up to and including the track list. Throws FLV_BAD_TAG. */
export function readExHeader(body: Buffer, opts: ExHeaderOptions): ExHeader {
  const bad = (msg: string) => new TidecastError('FLV_BAD_TAG', `${opts.media} ex-header: ${msg}`);
  const need = (off: number, n: number, what: string) => {
    if (off + n > body.length) throw bad(`truncated ${what}`);
  };
  if (body.length < 1) throw bad('empty body');
  let off = 1;
  let packetType = body[0] & 0x0f;
  let timestampNanoOffset: number | undefined;
  while (packetType === opts.modEx) {
    // ModEx: size UI8+1 (UI16+1 when that is 256), data, then ModExType UB[4] + PacketType UB[4].
    need(off, 1, 'ModEx size');
    let size = body[off++] + 1;
    if (size === 256) {
      need(off, 2, 'ModEx size');
      size = body.readUInt16BE(off) + 1;
      off += 2;
    }
    need(off, size + 1, 'ModEx data');
    const dataAt = off;
    off += size;
    const b = body[off++];
    packetType = b & 0x0f;
    if (b >> 4 === 0) {
      // TimestampOffsetNano: UI24 in the first 3 bytes of modExData (MUST be >= 3 bytes).
      if (size < 3) throw bad('TimestampOffsetNano ModEx data shorter than 3 bytes');
      timestampNanoOffset = body.readUIntBE(dataAt, 3);
    }
  }
  const base = { packetType, multitrack: false, tracks: [] as TagTrack[] };
  if (timestampNanoOffset !== undefined) Object.assign(base, { timestampNanoOffset });
  if (opts.isCommand(packetType)) return { ...base, commandOffset: off };

  let multitrackType: number | undefined;
  let fourcc = 0;
  if (packetType === opts.multitrack) {
    need(off, 1, 'multitrack type');
    const b = body[off++];
    multitrackType = b >> 4;
    packetType = b & 0x0f;
    if (multitrackType > MANY_TRACKS_MANY_CODECS) throw bad(`reserved AvMultitrackType ${multitrackType}`);
    if (packetType === opts.multitrack || packetType === opts.modEx) {
      throw bad(`packet type ${packetType} not allowed inside multitrack`);
    }
  }
  if (multitrackType !== MANY_TRACKS_MANY_CODECS) {
    need(off, 4, 'FourCC');
    fourcc = body.readUInt32BE(off);
    off += 4;
  }
  const tracks: TagTrack[] = [];
  if (multitrackType === undefined) {
    tracks.push({ trackId: 0, fourcc, dataOffset: off, dataLength: body.length - off, compositionTime: 0 });
  } else {
    // Track loop: [FourCC if ManyTracksManyCodecs] trackId UI8 [UI24 size unless OneTrack] payload.
    do {
      let trackFourcc = fourcc;
      if (multitrackType === MANY_TRACKS_MANY_CODECS) {
        need(off, 4, 'track FourCC');
        trackFourcc = body.readUInt32BE(off);
        off += 4;
      }
      need(off, 1, 'trackId');
      const trackId = body[off++];
      let end = body.length;
      if (multitrackType !== 0) {
        need(off, 3, 'track size');
        end = off + 3 + body.readUIntBE(off, 3);
        off += 3;
        if (end > body.length) throw bad(`track ${trackId} size exceeds body`);
      }
      tracks.push({
        trackId,
        fourcc: trackFourcc,
        dataOffset: off,
        dataLength: end - off,
        compositionTime: 0,
      });
      off = end;
    } while (off < body.length);
  }
  return { ...base, packetType, multitrack: multitrackType !== undefined, multitrackType, tracks };
}
