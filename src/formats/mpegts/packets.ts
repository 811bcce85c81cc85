/**
 * Transport packets (ISO/IEC 13818-1 §2.4.3.2 transport_packet, §2.4.3.4 adaptation_field, §2.4.3.5 PCR).
 *
 * Header: sync_byte 0x47 | transport_error 0, payload_unit_start_indicator, transport_priority 0, PID (13) |
 * transport_scrambling_control 00, adaptation_field_control (01 payload, 10 AF only, 11 AF + payload),
 * continuity_counter (4). The continuity counter is kept per PID and advances only on packets that carry
 * payload (§2.4.3.3); an adaptation-field-only packet repeats the current value.
 */

export const TS_PACKET_SIZE = 188;
export const SYNC_BYTE = 0x47;
/** Payload bytes in a packet without adaptation field. */
const MAX_PAYLOAD = TS_PACKET_SIZE - 4;

/** Per-PID 4-bit continuity counters (§2.4.3.3). One instance lives as long as the muxer. */
export class ContinuityCounters {
  private readonly last = new Map<number, number>();

  /** The counter for the next payload-carrying packet on `pid` (0 for the first one). */
  next(pid: number): number {
    const cc = ((this.last.get(pid) ?? -1) + 1) & 0x0f;
    this.last.set(pid, cc);
    return cc;
  }

  /** The counter of the last payload packet on `pid` (what an AF-only packet must repeat). */
  current(pid: number): number {
    return this.last.get(pid) ?? 0x0f;
  }
}

/** Adaptation-field content for the first packet of a payload unit. */
export interface AdaptationOptions {
  /** program_clock_reference_base, 90 kHz (33 bits, taken modulo 2^33); the 27 MHz extension is 0. */
  pcr?: number;
  /** random_access_indicator: the payload unit starts a random access point (§2.4.3.5). */
  randomAccess?: boolean;
  /** discontinuity_indicator: the system time base (PCR) restarts here (§2.4.3.5). */
  discontinuity?: boolean;
}

/** Writes the 6-byte PCR field: base (33) | reserved '111111' (6) | extension (9) (§2.4.3.5). */
function writePcr(b: Buffer, o: number, pcr: number): void {
  const base = ((Math.floor(pcr) % 2 ** 33) + 2 ** 33) % 2 ** 33;
  b[o] = Math.floor(base / 2 ** 25) & 0xff;
  b[o + 1] = Math.floor(base / 2 ** 17) & 0xff;
  b[o + 2] = Math.floor(base / 2 ** 9) & 0xff;
  b[o + 3] = Math.floor(base / 2) & 0xff;
  b[o + 4] = ((base & 1) << 7) | 0x7e; // extension high bit = 0
  b[o + 5] = 0; // extension low byte
}

function writeHeader(b: Buffer, o: number, pid: number, pusi: boolean, afc: number, cc: number): void {
  b[o] = SYNC_BYTE;
  b[o + 1] = (pusi ? 0x40 : 0) | ((pid >> 8) & 0x1f);
  b[o + 2] = pid & 0xff;
  b[o + 3] = (afc << 4) | (cc & 0x0f);
}

/** Flag byte + optional PCR of an adaptation field, or undefined when no flag is needed. */
function afFields(opts: AdaptationOptions): Buffer | undefined {
  if (opts.pcr === undefined && !opts.randomAccess && !opts.discontinuity) return undefined;
  const f = Buffer.alloc(opts.pcr === undefined ? 1 : 7);
  f[0] =
    (opts.discontinuity ? 0x80 : 0) | (opts.randomAccess ? 0x40 : 0) | (opts.pcr !== undefined ? 0x10 : 0);
  if (opts.pcr !== undefined) writePcr(f, 1, opts.pcr);
  return f;
}

/**
 * Splits one payload unit (a PES packet, or pointer_field + PSI section) into packets on `pid`.
 * The first packet has payload_unit_start_indicator set and carries `first` in its adaptation field.
 * The last packet is filled up to 188 bytes either with adaptation-field stuffing (0xFF stuffing_bytes,
 * §2.4.3.5 — required for PES, whose payload may not be padded) or, with `fill: 'psi'`, with 0xFF bytes
 * after the section, which §2.4.4 allows for PSI ("stuffing_byte" after the last section).
 */
export function packetize(
  pid: number,
  payload: Buffer,
  cc: ContinuityCounters,
  first: AdaptationOptions = {},
  fill: 'adaptation' | 'psi' = 'adaptation',
): Buffer {
  const fields = afFields(first);
  // Count packets: the first one loses 1 + fields bytes to the adaptation field.
  const firstRoom = fields ? MAX_PAYLOAD - 1 - fields.length : MAX_PAYLOAD;
  const count = payload.length <= firstRoom ? 1 : 1 + Math.ceil((payload.length - firstRoom) / MAX_PAYLOAD);
  const out = Buffer.alloc(count * TS_PACKET_SIZE, 0xff);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    const o = i * TS_PACKET_SIZE;
    const f = i === 0 ? fields : undefined;
    const room = f ? MAX_PAYLOAD - 1 - f.length : MAX_PAYLOAD;
    const n = Math.min(room, payload.length - pos);
    // Adaptation field length (excluding its length byte) needed to fill the packet exactly.
    let afLen = f ? f.length : -1;
    if (n < room && fill === 'adaptation') afLen = f ? f.length + (room - n) : MAX_PAYLOAD - n - 1;
    const afc = afLen >= 0 ? 0x3 : 0x1;
    writeHeader(out, o, pid, i === 0, afc, cc.next(pid));
    let p = o + 4;
    if (afLen >= 0) {
      out[p] = afLen;
      if (afLen > 0) {
        if (f) f.copy(out, p + 1);
        else out[p + 1] = 0; // no flags, the rest is 0xFF stuffing (already in the buffer)
      }
      p += 1 + afLen;
    }
    payload.copy(out, p, pos, pos + n);
    pos += n;
  }
  return out;
}

/** An adaptation-field-only packet carrying a PCR (adaptation_field_control 10, CC not advanced). */
export function pcrOnlyPacket(
  pid: number,
  pcr: number,
  cc: ContinuityCounters,
  discontinuity = false,
): Buffer {
  const out = Buffer.alloc(TS_PACKET_SIZE, 0xff);
  writeHeader(out, 0, pid, false, 0x2, cc.current(pid));
  out[4] = MAX_PAYLOAD - 1; // the adaptation field fills the packet
  out[5] = (discontinuity ? 0x80 : 0) | 0x10;
  writePcr(out, 6, pcr);
  return out;
}

/** One parsed transport packet header (for tests, diagnostics and segment inspection). */
export interface ParsedPacket {
  pid: number;
  payloadUnitStart: boolean;
  continuityCounter: number;
  /** adaptation_field_control 01 or 11 */
  hasPayload: boolean;
  /** adaptation_field_length + 1 when an adaptation field is present, else 0. */
  adaptationBytes: number;
  discontinuity: boolean;
  randomAccess: boolean;
  /** PCR base (90 kHz) when PCR_flag is set. */
  pcr?: number;
  payload: Buffer;
}

/** Parses the 188-byte packet at `offset`; throws on a missing sync byte or an impossible layout. */
export function parsePacket(buf: Buffer, offset = 0): ParsedPacket {
  const b = buf.subarray(offset, offset + TS_PACKET_SIZE);
  if (b.length !== TS_PACKET_SIZE || b[0] !== SYNC_BYTE) throw new Error(`no TS packet at ${offset}`);
  const afc = (b[3] >> 4) & 0x3;
  const p: ParsedPacket = {
    pid: ((b[1] & 0x1f) << 8) | b[2],
    payloadUnitStart: (b[1] & 0x40) !== 0,
    continuityCounter: b[3] & 0x0f,
    hasPayload: (afc & 0x1) !== 0,
    adaptationBytes: 0,
    discontinuity: false,
    randomAccess: false,
    payload: Buffer.alloc(0),
  };
  let pos = 4;
  if (afc & 0x2) {
    const len = b[4];
    if (5 + len > TS_PACKET_SIZE) throw new Error(`adaptation_field_length ${len} too large`);
    p.adaptationBytes = 1 + len;
    if (len > 0) {
      const flags = b[5];
      p.discontinuity = (flags & 0x80) !== 0;
      p.randomAccess = (flags & 0x40) !== 0;
      if (flags & 0x10) p.pcr = b.readUInt32BE(6) * 2 + (b[10] >> 7);
    }
    pos += p.adaptationBytes;
  }
  if (p.hasPayload) p.payload = b.subarray(pos);
  return p;
}
