/**
 * HLS multivariant playlist (RFC 8216bis §4.4.6): one EXT-X-STREAM-INF per variant stream.
 * No EXT-X-VERSION is written: nothing here needs more than version 1, and §6.2.1 says the version SHOULD NOT be
 * greater than the tags require (a playlist without the tag is version 1).
 */
import { int, quoted, uriLine } from './text.js';

export interface Variant {
  uri: string;
  /** peak bits per second (required) */
  bandwidth: number;
  averageBandwidth?: number;
  /** RFC 6381 list, e.g. `avc1.64001f,mp4a.40.2`; omitted when empty */
  codecs: string;
  resolution?: { width: number; height: number };
  frameRate?: number;
}

export function renderMultivariantPlaylist(
  variants: Variant[],
  opts: { independentSegments?: boolean } = {},
): string {
  const out = ['#EXTM3U'];
  if (opts.independentSegments) out.push('#EXT-X-INDEPENDENT-SEGMENTS');
  for (const v of variants) {
    const attrs = [`BANDWIDTH=${int(v.bandwidth)}`];
    if (v.averageBandwidth !== undefined) attrs.push(`AVERAGE-BANDWIDTH=${int(v.averageBandwidth)}`);
    if (v.codecs) attrs.push(`CODECS=${quoted(v.codecs)}`);
    if (v.resolution) attrs.push(`RESOLUTION=${int(v.resolution.width)}x${int(v.resolution.height)}`);
    if (v.frameRate !== undefined && Number.isFinite(v.frameRate) && v.frameRate > 0) {
      attrs.push(`FRAME-RATE=${v.frameRate.toFixed(3)}`);
    }
    out.push(`#EXT-X-STREAM-INF:${attrs.join(',')}`, uriLine(v.uri));
  }
  return `${out.join('\n')}\n`;
}
