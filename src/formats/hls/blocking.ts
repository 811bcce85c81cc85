/**
 * LL-HLS Delivery Directives (draft-pantos-hls-rfc8216bis §6.2.5): parsing `_HLS_msn` / `_HLS_part` / `_HLS_skip`
 * and the pure Blocking Playlist Reload decision (§6.2.5.2). The caller holds a 'wait' request and re-decides on
 * every playlist change, answering 503 after 3 target durations (the timer is the caller's).
 */
import type { MediaPlaylist } from './playlist.js';

export type BlockingDecision = { kind: 'ready' } | { kind: 'wait' } | { kind: 'bad-request'; reason: string };

export interface BlockingQuery {
  msn?: number;
  part?: number;
  skip?: 'YES' | 'v2';
}

export interface BlockingState {
  /**
   * MSN of the newest segment: the one being built (its parts `0..lastPart` are listed, segments below it are
   * complete) — or the last complete segment when `lastMsnComplete` is set (nothing is being built).
   */
  lastMsn: number;
  /** index of the last complete part in lastMsn's partial segment, -1 if none */
  lastPart: number;
  /** true when segment `lastMsn` is complete and no newer one has started (no parts, or between segments) */
  lastMsnComplete?: boolean;
  /** part count of the newest complete segment; when unknown, one part is assumed to exist */
  lastCompletePartCount?: number;
  /** most parts a segment can have; enables the Advance Part Limit across segment boundaries */
  partsPerSegmentMax?: number;
  /** PART-TARGET (s); sets the Advance Part Limit (3 when absent) */
  partTarget?: number;
  ended: boolean;
}

const DECIMAL_INTEGER = /^[0-9]{1,15}$/;

/**
 * Parses the delivery directives. Malformed values (not a decimal-integer, repeated) are errors (400), and so is
 * `_HLS_part` without `_HLS_msn` (§6.2.5.2 MUST). An unrecognised `_HLS_skip` value is ignored (full playlist).
 */
export function parseBlockingQuery(q: URLSearchParams): BlockingQuery | { error: string } {
  const out: BlockingQuery = {};
  for (const [key, name] of [
    ['msn', '_HLS_msn'],
    ['part', '_HLS_part'],
  ] as const) {
    const values = q.getAll(name);
    if (values.length === 0) continue;
    if (values.length > 1) return { error: `${name} given more than once` };
    if (!DECIMAL_INTEGER.test(values[0])) return { error: `${name} must be a decimal integer` };
    out[key] = Number(values[0]);
  }
  if (out.part !== undefined && out.msn === undefined) return { error: '_HLS_part requires _HLS_msn' };
  const skip = q.get('_HLS_skip');
  if (skip === 'YES' || skip === 'v2') out.skip = skip;
  return out;
}

/** Advance Part Limit (§6.2.5.2): 3 / PART-TARGET when PART-TARGET < 1 s, else 3. */
export function advancePartLimit(partTarget: number | undefined): number {
  return partTarget !== undefined && partTarget > 0 && partTarget < 1 ? 3 / partTarget : 3;
}

/**
 * Whether a blocking request can be answered now. Rules (§6.2.5.2):
 * - `_HLS_part` without `_HLS_msn`: bad request (MUST);
 * - ended playlist: directives are ignored, 'ready';
 * - msn > lastMsn + 2: bad request; a part more than the Advance Part Limit past the newest part: bad request;
 * - msn alone: ready once segment msn is complete;
 * - msn + part: ready once part `part` of msn (or anything later) is listed; a part index past the last part of
 *   a complete segment means part 0 of the next segment.
 */
export function decideBlocking(req: { msn?: number; part?: number }, state: BlockingState): BlockingDecision {
  const { msn, part } = req;
  if (part !== undefined && msn === undefined) return bad('_HLS_part requires _HLS_msn');
  if (state.ended || msn === undefined) return { kind: 'ready' };
  if (msn > state.lastMsn + 2)
    return bad(`_HLS_msn ${msn} is more than 2 past the last segment ${state.lastMsn}`);

  const lastComplete = state.lastMsnComplete ? state.lastMsn : state.lastMsn - 1;
  // newest listed part of the segment being built (-1: none yet)
  const openPart = state.lastMsnComplete ? -1 : state.lastPart;
  if (part === undefined) return msn <= lastComplete ? READY : WAIT;

  const max =
    state.partsPerSegmentMax !== undefined && state.partsPerSegmentMax > 0 ? state.partsPerSegmentMax : 0;
  let m = msn;
  let p = part;
  if (m > lastComplete && max > 0 && p >= max) {
    m += 1; // past the last part any open segment can have: part 0 of the next one
    p = 0;
  }
  if (m < lastComplete) return READY; // segment m+1 is complete too
  if (m === lastComplete) {
    // p beyond the complete segment's parts means part 0 of the segment being built
    return p < (state.lastCompletePartCount ?? 1) || openPart >= 0 ? READY : WAIT;
  }
  // m is the segment being built (lastComplete + 1) or later
  const open = lastComplete + 1;
  if (m === open && p <= openPart) return READY;
  const ahead =
    m === open ? p - openPart : max > 0 ? Math.max(0, max - 1 - openPart) + (m - open - 1) * max + p + 1 : 0;
  const limit = advancePartLimit(state.partTarget);
  if (ahead > limit) return bad(`_HLS_part ${part} is ${ahead} parts past the last part (limit ${limit})`);
  return WAIT;
}

/**
 * The blocking state of a rendered playlist model: the partial segment (when it has parts) is the segment being
 * built; otherwise the last listed segment is complete.
 */
export function blockingStateOf(p: MediaPlaylist): BlockingState {
  const last = p.segments.at(-1);
  const lastCompleteMsn = last ? last.msn : p.mediaSequence - 1;
  const ll = p.partTarget !== undefined && p.partTarget > 0;
  const partial = ll && !p.endList && p.partialSegment?.parts.length ? p.partialSegment : undefined;
  return {
    lastMsn: partial ? partial.msn : lastCompleteMsn,
    lastPart: partial ? partial.parts.length - 1 : -1,
    lastMsnComplete: !partial,
    lastCompletePartCount: ll && last?.parts.length ? last.parts.length : undefined,
    partTarget: p.partTarget,
    ended: p.endList,
  };
}

const READY: BlockingDecision = { kind: 'ready' };
const WAIT: BlockingDecision = { kind: 'wait' };

function bad(reason: string): BlockingDecision {
  return { kind: 'bad-request', reason };
}
