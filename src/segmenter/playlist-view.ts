import type { Config } from '../config/schema.js';
import { type HlsSegment, type MediaPlaylist, renderMediaPlaylist } from '../formats/hls/playlist.js';
import type { HlsStream } from './hls-service.js';

/** Parts are listed for the newest segments only: at least 3 target durations' worth (8216bis §4.4.4.9). */
const SEGMENTS_WITH_PARTS = 4;

/** The media playlist of one stream, from its segment store. */
/** `query` (a media token) is added to every URI. */
export function renderStreamPlaylist(
  h: HlsStream,
  config: Config,
  wantSkip: boolean,
  query?: string,
  renditionReports?: MediaPlaylist['renditionReports'],
): string {
  const q = (uri: string) => (query ? `${uri}${uri.includes('?') ? '&' : '?'}${query}` : uri);
  const { store } = h;
  const target = config.hls.targetDuration;
  const partTarget = h.lowLatency ? config.hls.partTarget : undefined;
  const ext = h.format === 'mpegts' ? 'ts' : 'm4s';
  const listed = store.listed;
  const segments: HlsSegment[] = listed.map((s, i) => ({
    msn: s.msn,
    duration: s.duration,
    uri: q(`seg${s.msn}.${ext}`),
    programDateTime: s.programDateTime,
    discontinuity: s.discontinuity,
    // a new init segment (codec change) from this segment on
    mapUri:
      i > 0 && listed[i - 1].initVersion !== s.initVersion ? q(`init.mp4?v=${s.initVersion}`) : undefined,
    parts:
      partTarget && i >= listed.length - SEGMENTS_WITH_PARTS
        ? s.parts.map((p, j) => ({
            duration: p.duration,
            uri: q(`part${s.msn}.${j}.m4s`),
            independent: p.independent,
          }))
        : [],
  }));
  const cur = store.current;
  const canSkipUntil = 6 * target;
  const playlist: MediaPlaylist = {
    targetDuration: target,
    mediaSequence: store.firstListedMsn,
    discontinuitySequence: store.listedDiscontinuitySequence,
    segments,
    mapUri:
      h.format === 'fmp4' && store.init
        ? q(`init.mp4?v=${listed[0]?.initVersion ?? store.init.version}`)
        : undefined,
    endList: store.ended,
    independentSegments: true,
    partTarget,
    partialSegment:
      partTarget && cur && !store.ended
        ? {
            msn: cur.msn,
            discontinuity: cur.discontinuity,
            programDateTime: cur.programDateTime,
            parts: cur.parts.map((p, j) => ({
              duration: p.duration,
              uri: q(`part${cur.msn}.${j}.m4s`),
              independent: p.independent,
            })),
          }
        : undefined,
    preloadHint:
      partTarget && !store.ended
        ? { uri: q(cur ? `part${cur.msn}.${cur.parts.length}.m4s` : `part${store.lastMsn + 1}.0.m4s`) }
        : undefined,
    // LL-HLS: where the other renditions of the ladder are, so a player switching can block on the right part
    renditionReports: partTarget && !store.ended ? renditionReports : undefined,
    serverControl: partTarget
      ? { canBlockReload: true, partHoldBack: 3 * partTarget, holdBack: 3 * target, canSkipUntil }
      : undefined,
  };
  let skip = 0;
  if (wantSkip && partTarget) {
    // delta update: skip segments that end more than CAN-SKIP-UNTIL before the end of the playlist
    let fromEnd = 0;
    for (let i = segments.length - 1; i >= 0; i--) {
      if (fromEnd > canSkipUntil) {
        skip = i + 1;
        break;
      }
      fromEnd += segments[i].duration;
    }
  }
  return renderMediaPlaylist(playlist, skip > 0 ? { skip } : undefined);
}
