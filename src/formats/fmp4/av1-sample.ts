/**
 * AV1 sample data for ISOBMFF (AV1-ISOBMFF §2.4): a temporal unit in the low-overhead bitstream
 * format (AV1 §5.2), without its temporal delimiter OBUs, which the sample format says should not be
 * stored (the sample boundary already delimits the temporal unit). E-RTMP/FLV frames usually start
 * with one (`12 00`).
 */

/** obu_type OBU_TEMPORAL_DELIMITER (AV1 §6.2.2, Table "OBU types"). */
const OBU_TEMPORAL_DELIMITER = 2;

/** leb128() (AV1 §4.10.5); undefined when truncated or longer than 8 bytes. */
function readLeb128(buf: Buffer, off: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 8 && off + i < buf.length; i++) {
    const byte = buf[off + i];
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { value, next: off + i + 1 };
  }
  return undefined;
}

/**
 * The temporal unit without temporal delimiter OBUs. Returns `data` itself when there is nothing to
 * remove or when the OBUs cannot be walked (an OBU without obu_has_size_field before the last one,
 * or a truncated OBU): in doubt, the data is stored as received.
 */
export function av1SampleData(data: Buffer): Buffer {
  const keep: [number, number][] = [];
  let removed = false;
  let off = 0;
  while (off < data.length) {
    const header = data[off];
    const type = (header >> 3) & 0x0f;
    const headerSize = 1 + ((header >> 2) & 1); // obu_extension_flag adds one byte
    let end: number;
    if ((header >> 1) & 1) {
      const size = readLeb128(data, off + headerSize);
      if (!size) return data;
      end = size.next + size.value;
      if (end > data.length) return data;
    } else {
      end = data.length; // no obu_size: the OBU runs to the end of the sample
    }
    if (type === OBU_TEMPORAL_DELIMITER) removed = true;
    else keep.push([off, end]);
    off = end;
  }
  if (!removed) return data;
  return Buffer.concat(keep.map(([s, e]) => data.subarray(s, e)));
}
