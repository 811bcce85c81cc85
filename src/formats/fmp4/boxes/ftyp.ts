/**
 * File-level type boxes: `ftyp` (ISO/IEC 14496-12 §4.3) opening the init segment and `styp`
 * (§8.16.2) that may open a media segment.
 */
import { box, fourcc, u32 } from './box.js';

function typeBox(type: 'ftyp' | 'styp', major: string, minor: number, compatible: string[]): Buffer {
  return box(type, fourcc(major), u32(minor), ...compatible.map(fourcc));
}

/**
 * FileTypeBox (§4.3): major brand `iso6` (movie fragments with tfdt v1 and default-base-is-moof,
 * §E.6), `cmfc` for CMAF (ISO/IEC 23000-19 §7.2), plus any codec brands (`av01` per AV1-ISOBMFF
 * §2.1, `Opus` per Opus-in-ISOBMFF §4.1).
 */
export function ftyp(codecBrands: string[] = []): Buffer {
  const compatible = ['iso6', 'cmfc', 'isom', 'mp41', 'dash'];
  for (const b of codecBrands) if (!compatible.includes(b)) compatible.push(b);
  return typeBox('ftyp', 'iso6', 0, compatible);
}

/** SegmentTypeBox (§8.16.2), same layout as ftyp; `msdh` = media segment (ISO/IEC 23009-1 §6.3.4.2). */
export function styp(major = 'msdh', compatible: string[] = ['msdh']): Buffer {
  return typeBox('styp', major, 0, compatible);
}
