/**
 * A small, strict reader of *rendered* media playlists, used to check our own output against the RFC 8216bis
 * rules that bite (EXTINF vs TARGETDURATION, parts vs PART-TARGET, hold-back floors, tag placement, version).
 * Not a general-purpose M3U8 parser: it understands the tags `renderMediaPlaylist` writes.
 */

export interface ParsedPart {
  duration: number;
  uri: string;
  independent: boolean;
  gap: boolean;
}

export interface ParsedSegment {
  duration: number;
  uri: string;
  parts: ParsedPart[];
  discontinuity: boolean;
  gap: boolean;
  programDateTime?: string;
  map?: string;
}

export interface ParsedMediaPlaylist {
  version?: number;
  targetDuration?: number;
  mediaSequence?: number;
  discontinuitySequence: number;
  independentSegments: boolean;
  partTarget?: number;
  serverControl?: Record<string, string>;
  skipped: number;
  segments: ParsedSegment[];
  /** parts after the last EXTINF (the segment being built) */
  trailingParts: ParsedPart[];
  endList: boolean;
  preloadHint?: Record<string, string>;
  renditionReports: Array<Record<string, string>>;
  /** structural problems met while reading */
  errors: string[];
}

/** Splits an attribute-list (§4.2) into name → value; quoted-string values are returned without quotes. */
export function parseAttributes(list: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /([A-Z0-9-]+)=("[^"\r\n]*"|[^",]*)(,|$)/gy;
  let m: RegExpExecArray | null = re.exec(list);
  while (m) {
    out[m[1]] = m[2].startsWith('"') ? m[2].slice(1, -1) : m[2];
    if (m[3] === '') break;
    m = re.exec(list);
  }
  return out;
}

const PDT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
// tags that must precede the first EXT-X-PART of their segment (§4.4.4.9)
const BEFORE_PARTS = new Set(['#EXT-X-DISCONTINUITY', '#EXT-X-MAP', '#EXT-X-PROGRAM-DATE-TIME']);

export function parseMediaPlaylistText(text: string): ParsedMediaPlaylist {
  const r: ParsedMediaPlaylist = {
    discontinuitySequence: 0,
    independentSegments: false,
    skipped: 0,
    segments: [],
    trailingParts: [],
    endList: false,
    renditionReports: [],
    errors: [],
  };
  const lines = text.split('\n');
  if (lines[0] !== '#EXTM3U') r.errors.push('first line is not #EXTM3U');
  if (!text.endsWith('\n')) r.errors.push('no final newline');
  let pending: Omit<ParsedSegment, 'duration' | 'uri'> = { parts: [], discontinuity: false, gap: false };
  let duration: number | undefined;
  let sawSegment = false;
  for (const [i, line] of lines.entries()) {
    if (i === 0 || line === '') continue;
    if (/[\u0000-\u001f\u007f-\u009f]/.test(line)) r.errors.push(`control character on line ${i + 1}`);
    if (!line.startsWith('#')) {
      if (duration === undefined) r.errors.push(`URI line without EXTINF: ${line}`);
      else r.segments.push({ ...pending, duration, uri: line });
      pending = { parts: [], discontinuity: false, gap: false };
      duration = undefined;
      sawSegment = true;
      continue;
    }
    const colon = line.indexOf(':');
    const tag = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1);
    if (duration !== undefined) r.errors.push(`${tag} between EXTINF and its URI`);
    if (BEFORE_PARTS.has(tag) && pending.parts.length) r.errors.push(`${tag} after the first EXT-X-PART`);
    switch (tag) {
      case '#EXT-X-VERSION':
        if (r.version !== undefined) r.errors.push('EXT-X-VERSION twice');
        r.version = Number(value);
        break;
      case '#EXT-X-TARGETDURATION':
        if (!/^[0-9]+$/.test(value)) r.errors.push(`TARGETDURATION not an integer: ${value}`);
        r.targetDuration = Number(value);
        break;
      case '#EXT-X-MEDIA-SEQUENCE':
        r.mediaSequence = Number(value);
        break;
      case '#EXT-X-DISCONTINUITY-SEQUENCE':
        r.discontinuitySequence = Number(value);
        break;
      case '#EXT-X-INDEPENDENT-SEGMENTS':
        r.independentSegments = true;
        break;
      case '#EXT-X-PART-INF':
        r.partTarget = Number(parseAttributes(value)['PART-TARGET']);
        break;
      case '#EXT-X-SERVER-CONTROL':
        r.serverControl = parseAttributes(value);
        break;
      case '#EXT-X-SKIP':
        if (r.skipped || sawSegment || pending.parts.length)
          r.errors.push('EXT-X-SKIP repeated or after segments');
        r.skipped = Number(parseAttributes(value)['SKIPPED-SEGMENTS']);
        break;
      case '#EXT-X-DISCONTINUITY':
        pending.discontinuity = true;
        break;
      case '#EXT-X-GAP':
        pending.gap = true;
        break;
      case '#EXT-X-MAP':
        pending.map = parseAttributes(value).URI;
        break;
      case '#EXT-X-PROGRAM-DATE-TIME':
        if (!PDT.test(value)) r.errors.push(`PROGRAM-DATE-TIME not ISO 8601 with ms and Z: ${value}`);
        pending.programDateTime = value;
        break;
      case '#EXT-X-PART': {
        const a = parseAttributes(value);
        const part = {
          duration: Number(a.DURATION),
          uri: a.URI,
          independent: a.INDEPENDENT === 'YES',
          gap: a.GAP === 'YES',
        };
        if (!a.URI || !Number.isFinite(part.duration)) r.errors.push(`bad EXT-X-PART: ${value}`);
        pending.parts.push(part);
        break;
      }
      case '#EXTINF': {
        const m = /^([0-9]+(?:\.[0-9]+)?),/.exec(value);
        if (!m) r.errors.push(`bad EXTINF: ${value}`);
        duration = m ? Number(m[1]) : 0;
        break;
      }
      case '#EXT-X-ENDLIST':
        r.endList = true;
        break;
      case '#EXT-X-PRELOAD-HINT':
        r.preloadHint = parseAttributes(value);
        break;
      case '#EXT-X-RENDITION-REPORT':
        r.renditionReports.push(parseAttributes(value));
        break;
      default:
        r.errors.push(`unexpected tag ${tag}`);
    }
  }
  if (duration !== undefined) r.errors.push('EXTINF without URI at the end');
  r.trailingParts = pending.parts;
  return r;
}

/** Every RFC 8216bis rule this module promises, checked on rendered text; returns the violations. */
export function checkMediaPlaylistText(text: string): string[] {
  const p = parseMediaPlaylistText(text);
  const errs = [...p.errors];
  const td = p.targetDuration;
  if (td === undefined || !(td >= 1)) errs.push('missing or invalid EXT-X-TARGETDURATION');
  if (p.mediaSequence === undefined) errs.push('missing EXT-X-MEDIA-SEQUENCE');
  const usesMap = p.segments.some((s) => s.map) || text.includes('#EXT-X-MAP:');
  const need = p.skipped ? 9 : usesMap ? 6 : 3;
  if (p.version !== need) errs.push(`EXT-X-VERSION ${p.version} but the features need exactly ${need}`);
  for (const s of p.segments) {
    if (td !== undefined && Math.round(s.duration) > td) errs.push(`EXTINF ${s.duration} rounds above ${td}`);
  }
  const parts = [...p.segments.flatMap((s) => s.parts), ...p.trailingParts];
  if (parts.length && p.partTarget === undefined) errs.push('EXT-X-PART without EXT-X-PART-INF');
  const pt = p.partTarget;
  if (pt !== undefined) {
    for (const x of parts) if (x.duration > pt) errs.push(`part ${x.uri} ${x.duration} > PART-TARGET ${pt}`);
    const phb = Number(p.serverControl?.['PART-HOLD-BACK']);
    if (!(phb >= 2 * pt)) errs.push(`PART-HOLD-BACK ${phb} < 2 x PART-TARGET`);
  }
  const sc = p.serverControl ?? {};
  if (td !== undefined && sc['HOLD-BACK'] !== undefined && Number(sc['HOLD-BACK']) < 3 * td) {
    errs.push('HOLD-BACK < 3 x TARGETDURATION');
  }
  if (td !== undefined && sc['CAN-SKIP-UNTIL'] !== undefined && Number(sc['CAN-SKIP-UNTIL']) < 6 * td) {
    errs.push('CAN-SKIP-UNTIL < 6 x TARGETDURATION');
  }
  if (p.skipped && sc['CAN-SKIP-UNTIL'] === undefined) errs.push('EXT-X-SKIP without CAN-SKIP-UNTIL');
  if (p.endList && p.preloadHint) errs.push('EXT-X-PRELOAD-HINT with EXT-X-ENDLIST');
  if (p.endList && p.trailingParts.length) errs.push('parts without a parent segment after EXT-X-ENDLIST');
  if (p.discontinuitySequence === 0 && text.includes('#EXT-X-DISCONTINUITY\n')) {
    if (!text.includes('#EXT-X-DISCONTINUITY-SEQUENCE:'))
      errs.push('discontinuities without DISCONTINUITY-SEQUENCE');
  }
  return errs;
}
