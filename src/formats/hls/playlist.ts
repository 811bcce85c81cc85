/**
 * HLS media playlists (RFC 8216 / draft-pantos-hls-rfc8216bis, incl. Low-Latency HLS): a plain data model and a
 * pure renderer. The multivariant renderer lives in `multivariant.ts` and is re-exported here.
 *
 * EXT-X-VERSION is the lowest the rendered features need (8216bis §8, §6.2.1 "SHOULD NOT be greater"):
 * 3 (floating-point EXTINF), 6 when an EXT-X-MAP is rendered, 9 when an EXT-X-SKIP is rendered. The LL-HLS tags
 * (EXT-X-PART, -PART-INF, -SERVER-CONTROL, -PRELOAD-HINT, -RENDITION-REPORT) carry no version requirement.
 */
import { dec3, dec3Up, int, isoDate, quotedUri, uriLine } from './text.js';

export { renderMultivariantPlaylist, type Variant } from './multivariant.js';

export interface HlsPart {
  /** seconds */
  duration: number;
  uri: string;
  independent: boolean;
  gap?: boolean;
}

export interface HlsSegment {
  msn: number;
  /** seconds */
  duration: number;
  uri: string;
  programDateTime?: Date;
  discontinuity: boolean;
  /** present for the newest segments in LL-HLS */
  parts: HlsPart[];
  gap?: boolean;
  /** Init section (EXT-X-MAP) of this segment and the ones after it, when it changes (e.g. codec change). */
  mapUri?: string;
}

/** The segment being built: parts only, no EXTINF yet. Its segment tags go before its first part. */
export interface HlsPartialSegment {
  msn: number;
  parts: HlsPart[];
  discontinuity?: boolean;
  programDateTime?: Date;
  mapUri?: string;
}

export interface MediaPlaylist {
  /** integer seconds, never changes for a stream */
  targetDuration: number;
  /** MSN of the first listed segment */
  mediaSequence: number;
  discontinuitySequence: number;
  segments: HlsSegment[];
  /** fMP4 init (EXT-X-MAP) */
  mapUri?: string;
  endList: boolean;
  independentSegments: boolean;
  /** LL-HLS part target (s); when set, parts are rendered and EXT-X-PART-INF/SERVER-CONTROL are emitted */
  partTarget?: number;
  /** the segment being built (not rendered with endList) */
  partialSegment?: HlsPartialSegment;
  /** EXT-X-PRELOAD-HINT:TYPE=PART (LL-HLS only; omitted with endList) */
  preloadHint?: { uri: string };
  serverControl?: {
    canBlockReload: boolean;
    partHoldBack?: number;
    holdBack?: number;
    canSkipUntil?: number;
  };
  renditionReports?: Array<{ uri: string; lastMsn: number; lastPart?: number }>;
  /**
   * Parts are only listed for segments that end within this many seconds of the end of the playlist
   * (default 3 target durations: 8216bis §6.2.2 says parts SHOULD go once older than that).
   */
  partWindow?: number;
}

/** TARGETDURATION as rendered: a positive integer (non-integers are rounded up so EXTINF stays within it). */
export function targetDurationOf(p: MediaPlaylist): number {
  const t = p.targetDuration;
  return Number.isFinite(t) ? Math.max(1, Math.ceil(t - 1e-9)) : 1;
}

function partTargetOf(p: MediaPlaylist): number | undefined {
  return p.partTarget !== undefined && Number.isFinite(p.partTarget) && p.partTarget > 0
    ? p.partTarget
    : undefined;
}

/** CAN-SKIP-UNTIL as rendered (at least 6 target durations, §4.4.3.8), or undefined when not offered. */
function skipBoundaryOf(p: MediaPlaylist): number | undefined {
  const c = p.serverControl?.canSkipUntil;
  if (c === undefined || !Number.isFinite(c)) return undefined;
  return Math.max(c, 6 * targetDurationOf(p));
}

/**
 * How many leading segments a Playlist Delta Update may replace with EXT-X-SKIP (§6.2.5.1): those ending more
 * than CAN-SKIP-UNTIL seconds before the end of the last segment. 0 when skipping is not offered or the
 * playlist has ended (§6.2.5.1: `_HLS_skip` is ignored then).
 */
export function skippableSegmentCount(p: MediaPlaylist): number {
  const boundary = skipBoundaryOf(p);
  if (boundary === undefined || p.endList) return 0;
  let fromEnd = 0;
  for (let i = p.segments.length - 1; i >= 0; i--) {
    if (fromEnd > boundary) return i + 1;
    fromEnd += p.segments[i].duration;
  }
  return 0;
}

/**
 * Renders a media playlist. `opts.skip` (from `_HLS_skip`) asks for a Playlist Delta Update replacing that many
 * leading segments with EXT-X-SKIP; it is clamped to {@link skippableSegmentCount}, so it is ignored without
 * CAN-SKIP-UNTIL or with endList. A delta update keeps MEDIA-SEQUENCE and DISCONTINUITY-SEQUENCE (§4.4.5.2).
 */
export function renderMediaPlaylist(p: MediaPlaylist, opts: { skip?: number } = {}): string {
  const td = targetDurationOf(p);
  const pt = partTargetOf(p);
  const requested = opts.skip !== undefined && Number.isFinite(opts.skip) ? Math.floor(opts.skip) : 0;
  const skip = requested > 0 ? Math.min(requested, skippableSegmentCount(p)) : 0;
  const partial =
    pt !== undefined && !p.endList && p.partialSegment?.parts.length ? p.partialSegment : undefined;

  // Parts are rendered for segments ending within the part window of the playlist end (parts included).
  const total = p.segments.reduce((a, s) => a + s.duration, 0);
  const end = total + (partial ? partial.parts.reduce((a, x) => a + x.duration, 0) : 0);
  const window = p.partWindow ?? 3 * td;

  const body: string[] = [];
  let map = p.mapUri;
  let renderedMap: string | undefined;
  let usesMap = false;
  let hasDiscontinuity = false;
  const segmentTags = (s: { discontinuity?: boolean; programDateTime?: Date }) => {
    if (s.discontinuity) {
      body.push('#EXT-X-DISCONTINUITY');
      hasDiscontinuity = true;
    }
    if (map !== undefined && map !== renderedMap) {
      body.push(`#EXT-X-MAP:URI=${quotedUri(map)}`);
      renderedMap = map;
      usesMap = true;
    }
    const pdt = isoDate(s.programDateTime);
    if (pdt) body.push(`#EXT-X-PROGRAM-DATE-TIME:${pdt}`);
  };
  const partTags = (parts: HlsPart[]) => {
    for (const x of parts) {
      const flags = `${x.independent ? ',INDEPENDENT=YES' : ''}${x.gap ? ',GAP=YES' : ''}`;
      body.push(`#EXT-X-PART:DURATION=${dec3(x.duration)},URI=${quotedUri(x.uri)}${flags}`);
    }
  };

  let t = 0;
  p.segments.forEach((s, i) => {
    if (s.mapUri !== undefined) map = s.mapUri;
    t += s.duration;
    if (i < skip) return;
    segmentTags(s);
    if (pt !== undefined && end - t <= window + 1e-9) partTags(s.parts);
    if (s.gap) body.push('#EXT-X-GAP');
    body.push(`#EXTINF:${dec3(s.duration)},`, uriLine(s.uri));
  });
  if (partial) {
    if (partial.mapUri !== undefined) map = partial.mapUri;
    segmentTags(partial);
    partTags(partial.parts);
  }

  const out = ['#EXTM3U', `#EXT-X-VERSION:${skip > 0 ? 9 : usesMap ? 6 : 3}`, `#EXT-X-TARGETDURATION:${td}`];
  const control = serverControlLine(p, td, pt);
  if (control) out.push(control);
  if (pt !== undefined) out.push(`#EXT-X-PART-INF:PART-TARGET=${dec3(pt)}`);
  out.push(`#EXT-X-MEDIA-SEQUENCE:${int(p.mediaSequence)}`);
  // required once segments with discontinuities can leave the window (§6.2.2); 0 is rendered only then
  if (p.discontinuitySequence > 0 || hasDiscontinuity) {
    out.push(`#EXT-X-DISCONTINUITY-SEQUENCE:${int(p.discontinuitySequence)}`);
  }
  if (p.independentSegments) out.push('#EXT-X-INDEPENDENT-SEGMENTS');
  if (skip > 0) out.push(`#EXT-X-SKIP:SKIPPED-SEGMENTS=${skip}`);
  out.push(...body);
  if (p.endList) out.push('#EXT-X-ENDLIST');
  if (pt !== undefined && !p.endList && p.preloadHint) {
    out.push(`#EXT-X-PRELOAD-HINT:TYPE=PART,URI=${quotedUri(p.preloadHint.uri)}`);
  }
  for (const r of p.renditionReports ?? []) {
    const last = r.lastPart !== undefined ? `,LAST-PART=${int(r.lastPart)}` : '';
    out.push(`#EXT-X-RENDITION-REPORT:URI=${quotedUri(r.uri)},LAST-MSN=${int(r.lastMsn)}${last}`);
  }
  return `${out.join('\n')}\n`;
}

/**
 * EXT-X-SERVER-CONTROL (§4.4.3.8). With parts it is always present (PART-HOLD-BACK is REQUIRED with
 * EXT-X-PART-INF) and defaults to CAN-BLOCK-RELOAD=YES, PART-HOLD-BACK = 3 x PART-TARGET. Values below the
 * spec's MUST floors are raised to them: PART-HOLD-BACK >= 2 x PART-TARGET, HOLD-BACK >= 3 x TARGETDURATION,
 * CAN-SKIP-UNTIL >= 6 x TARGETDURATION.
 */
function serverControlLine(p: MediaPlaylist, td: number, pt: number | undefined): string | undefined {
  const sc = p.serverControl ?? (pt !== undefined ? { canBlockReload: true } : undefined);
  if (!sc) return undefined;
  const attrs: string[] = [];
  if (sc.canBlockReload) attrs.push('CAN-BLOCK-RELOAD=YES');
  const skipUntil = skipBoundaryOf(p);
  if (skipUntil !== undefined) attrs.push(`CAN-SKIP-UNTIL=${dec3Up(skipUntil)}`);
  if (sc.holdBack !== undefined && Number.isFinite(sc.holdBack)) {
    attrs.push(`HOLD-BACK=${dec3Up(Math.max(sc.holdBack, 3 * td))}`);
  }
  if (pt !== undefined) {
    const ptRendered = Number(dec3(pt)); // floors hold against the PART-TARGET clients read
    const given =
      sc.partHoldBack !== undefined && Number.isFinite(sc.partHoldBack) ? sc.partHoldBack : 3 * ptRendered;
    attrs.push(`PART-HOLD-BACK=${dec3Up(Math.max(given, 2 * ptRendered))}`);
  }
  return attrs.length ? `#EXT-X-SERVER-CONTROL:${attrs.join(',')}` : undefined;
}
