/**
 * PES packet headers (ISO/IEC 13818-1 §2.4.3.6 PES_packet, §2.4.3.7 semantics) with PTS/DTS.
 */

/** stream_id values (§2.4.3.7 Table 2-22): first video / first MPEG audio stream. */
export const STREAM_ID_VIDEO = 0xe0;
export const STREAM_ID_AUDIO = 0xc0;
/** The 90 kHz clock wraps at 2^33 (§2.4.3.7, PTS). */
export const TS_CLOCK_WRAP = 2 ** 33;

/** Reduces a 90 kHz value to 33 bits (also maps negative values into range). */
export function wrap33(t: number): number {
  return ((Math.round(t) % TS_CLOCK_WRAP) + TS_CLOCK_WRAP) % TS_CLOCK_WRAP;
}

/**
 * Writes a 5-byte PTS or DTS: prefix (4) | ts[32..30] | marker | ts[29..15] | marker | ts[14..0] | marker.
 * Prefixes: '0010' PTS only, '0011' PTS followed by DTS, '0001' DTS.
 */
export function writeTimestamp(b: Buffer, o: number, prefix: number, t: number): void {
  const ts = wrap33(t);
  const hi = Math.floor(ts / 2 ** 30); // bits 32..30
  const lo = ts % 2 ** 30;
  b[o] = (prefix << 4) | (hi << 1) | 1;
  b[o + 1] = (lo >> 22) & 0xff;
  b[o + 2] = (((lo >> 15) & 0x7f) << 1) | 1;
  b[o + 3] = (lo >> 7) & 0xff;
  b[o + 4] = ((lo & 0x7f) << 1) | 1;
}

/** Reads a 5-byte PTS/DTS field back (for tests and debugging); undefined if a marker bit is 0. */
export function readTimestamp(b: Buffer, o: number): number | undefined {
  if ((b[o] & 1) !== 1 || (b[o + 2] & 1) !== 1 || (b[o + 4] & 1) !== 1) return undefined;
  const hi = (b[o] >> 1) & 0x07;
  const lo = (b[o + 1] << 22) | ((b[o + 2] >> 1) << 15) | (b[o + 3] << 7) | (b[o + 4] >> 1);
  return hi * 2 ** 30 + lo;
}

/**
 * A PES header: packet_start_code_prefix 00 00 01, stream_id, PES_packet_length, then
 * '10' + scrambling 00 + priority 0 + data_alignment_indicator 1 + copyright 0 + original 0 (0x84),
 * PTS_DTS_flags ('10' PTS, '11' PTS+DTS) with no other optional fields, PES_header_data_length, timestamps.
 * DTS (90 kHz) is written only when it differs from PTS. `unbounded` writes PES_packet_length 0, which
 * §2.4.3.7 allows only for video elementary streams in transport streams; a bounded PES over 65535
 * bytes is a RangeError (callers split, see MAX_BOUNDED_PES_PAYLOAD).
 */
export function pesHeader(
  streamId: number,
  payloadLength: number,
  pts: number,
  dts: number | undefined,
  unbounded: boolean,
): Buffer {
  const withDts = dts !== undefined && wrap33(dts) !== wrap33(pts);
  const headerDataLength = withDts ? 10 : 5;
  const b = Buffer.alloc(9 + headerDataLength);
  b[0] = 0;
  b[1] = 0;
  b[2] = 1;
  b[3] = streamId;
  const pesPacketLength = 3 + headerDataLength + payloadLength;
  if (!unbounded && pesPacketLength > 0xffff) {
    throw new RangeError(`bounded PES of ${pesPacketLength} bytes exceeds PES_packet_length`);
  }
  b.writeUInt16BE(unbounded ? 0 : pesPacketLength, 4);
  b[6] = 0x84;
  b[7] = withDts ? 0xc0 : 0x80;
  b[8] = headerDataLength;
  writeTimestamp(b, 9, withDts ? 0x3 : 0x2, pts);
  if (withDts) writeTimestamp(b, 14, 0x1, dts);
  return b;
}

/** Largest payload a bounded (audio) PES can carry next to a PTS-only header. */
export const MAX_BOUNDED_PES_PAYLOAD = 0xffff - 3 - 5;
