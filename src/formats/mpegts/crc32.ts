/**
 * CRC-32/MPEG-2, the CRC_32 field that ends every PSI section (ISO/IEC 13818-1 §2.4.4.11 and Annex A):
 * polynomial 0x04C11DB7, initial value 0xFFFFFFFF, MSB first (no bit reflection), no final XOR.
 * Annex A defines the CRC so that running it over a whole section *including* its CRC_32 gives 0.
 */

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 24;
    for (let k = 0; k < 8; k++) c = c & 0x80000000 ? (c << 1) ^ 0x04c11db7 : c << 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32/MPEG-2 of `buf[start, end)`, as an unsigned 32-bit number. */
export function crc32Mpeg2(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = (crc << 8) ^ TABLE[((crc >>> 24) ^ buf[i]) & 0xff];
  return crc >>> 0;
}
