/**
 * Program-specific information for a single-program transport stream (ISO/IEC 13818-1 §2.4.4):
 * program_association_section (§2.4.4.3, table_id 0x00) and TS_program_map_section (§2.4.4.8,
 * table_id 0x02), each ending with a CRC-32/MPEG-2 (§2.4.4.11, Annex A).
 */
import { crc32Mpeg2 } from './crc32.js';

export const PAT_PID = 0x0000;
/** The program number our PAT announces (the TS has exactly one program). */
export const PROGRAM_NUMBER = 1;

/** stream_type values (§2.4.4.9 Table 2-34, plus Amd. 3 for HEVC). */
export const StreamType = {
  /** ISO/IEC 13818-7 AAC with ADTS transport syntax */
  AAC_ADTS: 0x0f,
  /** AVC video (ITU-T H.264) */
  H264: 0x1b,
  /** HEVC video (ITU-T H.265) */
  HEVC: 0x24,
} as const;

export interface PmtStream {
  streamType: number;
  pid: number;
}

/**
 * Wraps a section body (everything after section_length up to, excluding, the CRC) with table_id,
 * section_syntax_indicator 1, '0', reserved '11', section_length and the trailing CRC_32.
 */
function section(tableId: number, body: number[]): Buffer {
  const sectionLength = body.length + 4; // + CRC_32
  const b = Buffer.alloc(3 + sectionLength);
  b[0] = tableId;
  b[1] = 0xb0 | ((sectionLength >> 8) & 0x0f);
  b[2] = sectionLength & 0xff;
  Buffer.from(body).copy(b, 3);
  b.writeUInt32BE(crc32Mpeg2(b, 0, b.length - 4), b.length - 4);
  return b;
}

/**
 * Common long-form header after section_length: a 16-bit id (transport_stream_id / program_number),
 * reserved '11' + version_number 0 + current_next_indicator 1, section_number 0, last_section_number 0.
 */
function longHeader(id: number): number[] {
  return [(id >> 8) & 0xff, id & 0xff, 0xc1, 0x00, 0x00];
}

/** PAT: program 1 -> `pmtPid` (transport_stream_id 1). */
export function patSection(pmtPid: number): Buffer {
  return section(0x00, [
    ...longHeader(1),
    (PROGRAM_NUMBER >> 8) & 0xff,
    PROGRAM_NUMBER & 0xff,
    0xe0 | ((pmtPid >> 8) & 0x1f), // reserved '111' + program_map_PID
    pmtPid & 0xff,
  ]);
}

/** PMT of program 1: PCR_PID and one entry per elementary stream, no descriptors. */
export function pmtSection(pcrPid: number, streams: PmtStream[]): Buffer {
  const body = [
    ...longHeader(PROGRAM_NUMBER),
    0xe0 | ((pcrPid >> 8) & 0x1f), // reserved '111' + PCR_PID
    pcrPid & 0xff,
    0xf0, // reserved '1111' + program_info_length 0
    0x00,
  ];
  for (const s of streams) {
    // stream_type, reserved '111' + elementary_PID, reserved '1111' + ES_info_length 0
    body.push(s.streamType, 0xe0 | ((s.pid >> 8) & 0x1f), s.pid & 0xff, 0xf0, 0x00);
  }
  return section(0x02, body);
}
