/**
 * FLV serialisation (FLV spec Annex E): file header (§E.2) plus PreviousTagSize0 (§E.3), and tags
 * (§E.4.1) each followed by their PreviousTagSize back-pointer.
 */
import { TidecastError } from '../../errors.js';

/** 9-byte header (§E.2) + PreviousTagSize0 = 0 (§E.3): 13 bytes. */
export const FLV_HEADER_SIZE = 13;
/** FLVTAG header (§E.4.1): type, DataSize UI24, Timestamp UI24 + TimestampExtended UI8, StreamID UI24. */
export const FLV_TAG_HEADER_SIZE = 11;
export const FLV_MAX_TAG_BODY = 0xffffff;

export function flvHeader(flags: { audio: boolean; video: boolean }): Buffer {
  const out = Buffer.alloc(FLV_HEADER_SIZE);
  out.write('FLV', 0, 'latin1');
  out[3] = 1; // version
  out[4] = (flags.audio ? 0x04 : 0) | (flags.video ? 0x01 : 0); // TypeFlagsAudio / TypeFlagsVideo
  out.writeUInt32BE(9, 5); // DataOffset
  // bytes 9..12: PreviousTagSize0 = 0 (already zero)
  return out;
}

/**
 * One FLV tag: 11-byte header, body, UI32 PreviousTagSize (= 11 + body length), in one allocation.
 * `timestampMs` is taken modulo 2^32 (RTMP time); its top byte goes to TimestampExtended.
 */
export function encodeFlvTag(type: 8 | 9 | 18, timestampMs: number, body: Buffer): Buffer {
  if (body.length > FLV_MAX_TAG_BODY) {
    throw new TidecastError('FLV_TAG_TOO_LARGE', `tag body of ${body.length} bytes exceeds UI24 DataSize`);
  }
  const ts = Number.isFinite(timestampMs) ? Math.trunc(timestampMs) >>> 0 : 0;
  const size = FLV_TAG_HEADER_SIZE + body.length;
  const out = Buffer.allocUnsafe(size + 4);
  out[0] = type;
  out.writeUIntBE(body.length, 1, 3);
  out.writeUIntBE(ts & 0xffffff, 4, 3);
  out[7] = ts >>> 24;
  out.writeUIntBE(0, 8, 3); // StreamID
  body.copy(out, FLV_TAG_HEADER_SIZE);
  out.writeUInt32BE(size, size);
  return out;
}
