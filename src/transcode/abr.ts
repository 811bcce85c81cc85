/**
 * Adaptive bitrate views of a ladder: the HLS multivariant playlist and the DASH MPD listing every rendition.
 * Pure: from the renditions' segment stores, tracks and config to text (no I/O, no timers).
 */
import { dashFrameRate, isoDuration, xmlEscape } from '../formats/dash/mpd.js';
import { renderMultivariantPlaylist, type Variant } from '../formats/hls/multivariant.js';
import type { HlsStream } from '../segmenter/hls-service.js';
import type { StoredSegment } from '../segmenter/store.js';
import { vbv } from './ffmpeg-args.js';
import type { RenditionConfig } from './schema.js';

export interface RenditionView {
  config: RenditionConfig;
  /** `{stream}_{name}` */
  stream: string;
  /** its HLS/DASH state, once it is being segmented */
  hls: HlsStream | undefined;
  /** frame rate from its SPS (or the source's), when known */
  frameRate: number | undefined;
}

/** Ready to be listed: at least one segment and a video (or audio-only) track. */
export function isReady(r: RenditionView): boolean {
  const h = r.hls;
  return (
    h !== undefined &&
    h.store.segments.length > 0 &&
    (h.segmenter.tracks.video ?? h.segmenter.tracks.audio) !== undefined
  );
}

function segmentBytes(s: StoredSegment): number {
  if (s.parts.length > 0) return s.parts.reduce((n, p) => n + p.bytes.length, 0);
  return s.bytes.length;
}

/** Peak and average bits per second over the stored segments (RFC 8216bis §4.4.6.2: BANDWIDTH is the peak). */
export function measuredBitrate(h: HlsStream): { peak: number; average: number } | undefined {
  let bits = 0;
  let seconds = 0;
  let peak = 0;
  for (const s of h.store.segments) {
    if (s.duration <= 0.1) continue;
    const b = segmentBytes(s) * 8;
    bits += b;
    seconds += s.duration;
    peak = Math.max(peak, b / s.duration);
  }
  return seconds > 0 ? { peak: Math.ceil(peak), average: Math.ceil(bits / seconds) } : undefined;
}

/** What the config promises, bits per second (encoded renditions only); audio copied is taken as 128 kbit/s. */
export function configuredBitrate(r: RenditionConfig): { peak: number; average: number } | undefined {
  const v = vbv(r);
  if (r.codec === 'copy' || !v) return undefined;
  const audio = r.audioBitrate ?? 128;
  return { peak: (v.maxrate + audio) * 1000, average: (v.bitrate + audio) * 1000 };
}

export function variantOf(r: RenditionView, uri: string): Variant | undefined {
  const h = r.hls;
  if (!h || !isReady(r)) return undefined;
  const { video, audio } = h.segmenter.tracks;
  const m = measuredBitrate(h);
  const c = configuredBitrate(r.config);
  const peak = Math.max(m?.peak ?? 0, c?.peak ?? 0);
  const average = m?.average ?? c?.average;
  return {
    uri,
    bandwidth: peak || 1,
    averageBandwidth: average,
    codecs: [video?.codecString, audio?.codecString].filter(Boolean).join(','),
    resolution: video ? { width: video.width, height: video.height } : undefined,
    frameRate: video ? (r.config.fps ?? r.frameRate) : undefined,
  };
}

/**
 * The multivariant playlist: one EXT-X-STREAM-INF per ready rendition, highest bandwidth first, each pointing at
 * the rendition's own media playlist `../{stream}_{name}/index.m3u8` (with `query` appended, e.g. credentials).
 */
export function renderAbrMultivariant(
  renditions: readonly RenditionView[],
  query: (stream: string) => string,
): string | undefined {
  const variants: Variant[] = [];
  for (const r of renditions) {
    const q = query(r.stream);
    const uri = `../${r.stream}/index.m3u8${q ? `?${q}` : ''}`;
    const v = variantOf(r, uri);
    if (v) variants.push(v);
  }
  if (variants.length === 0) return undefined;
  variants.sort((a, b) => b.bandwidth - a.bandwidth);
  return renderMultivariantPlaylist(variants, { independentSegments: true });
}

export interface AbrMpdInput {
  renditions: readonly RenditionView[];
  /** the source's own segmenter: its audio track is the MPD's audio */
  source: HlsStream;
  sourceName: string;
  /** path query (media token) per stream name, without `?` */
  query: (stream: string) => string;
  timeUrl: string;
  targetDuration: number;
  now: Date;
}

function attrs(list: Array<[string, string | number | undefined]>): string {
  return list
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');
}

function timeline(h: HlsStream, kind: 'video' | 'audio'): { startNumber: number; s: string[] } | undefined {
  const listed = h.store.listed.filter((s) => s.dash?.[kind]);
  if (listed.length === 0) return undefined;
  return {
    startNumber: listed[0].msn,
    s: listed.map(
      (s) =>
        `<S${attrs([
          ['t', Math.round(s.dash?.startMs ?? 0)],
          ['d', Math.max(1, Math.round(s.dash?.durationMs ?? 0))],
        ])}/>`,
    ),
  };
}

function template(
  base: string,
  rep: 'v' | 'a',
  q: string,
  t: { startNumber: number; s: string[] },
  indent: string,
): string[] {
  const qs = q ? `?${q}` : '';
  return [
    `${indent}<SegmentTemplate${attrs([
      ['timescale', 1000],
      ['startNumber', t.startNumber],
      ['initialization', `${base}dash/${rep}/init.mp4${qs}`],
      ['media', `${base}dash/${rep}/$Number$.m4s${qs}`],
    ])}>`,
    `${indent}  <SegmentTimeline>`,
    ...t.s.map((s) => `${indent}    ${s}`),
    `${indent}  </SegmentTimeline>`,
    `${indent}</SegmentTemplate>`,
  ];
}

/**
 * A dynamic MPD: one video AdaptationSet with a Representation per rendition (each with its own SegmentTemplate
 * and SegmentTimeline under `../{stream}_{name}/dash/v/`, since each rendition has its own segmenter), and the
 * source's audio. Renditions keep the source's timestamps, so one availabilityStartTime serves them all.
 */
export function renderAbrMpd(m: AbrMpdInput): string | undefined {
  const src = m.source;
  const first = src.store.listed.find((s) => s.dash);
  if (!first?.dash) return undefined;
  src.store.dashAvailabilityStart ??= first.programDateTime.getTime() - first.dash.startMs;
  const ast = new Date(src.store.dashAvailabilityStart);
  const reps: string[] = [];
  let maxW = 0;
  let maxH = 0;
  let window = 0;
  for (const r of m.renditions) {
    const h = r.hls;
    const v = h?.segmenter.tracks.video;
    if (!h || !v || !h.store.dashInit?.video || !isReady(r)) continue;
    const t = timeline(h, 'video');
    if (!t) continue;
    const listed = h.store.listed.filter((s) => s.dash?.video);
    const seconds = listed.reduce((n, s) => n + s.duration, 0) || 1;
    window = Math.max(window, seconds);
    const bytes = listed.reduce((n, s) => n + (s.dash?.video?.length ?? 0), 0);
    const c = configuredBitrate(r.config);
    const bandwidth = Math.max(
      Math.ceil((bytes * 8) / seconds),
      c ? c.peak - (r.config.audioBitrate ?? 128) * 1000 : 0,
    );
    maxW = Math.max(maxW, v.width);
    maxH = Math.max(maxH, v.height);
    const fps = r.config.fps ?? r.frameRate;
    reps.push(
      `      <Representation${attrs([
        ['id', r.config.name],
        ['bandwidth', bandwidth],
        ['codecs', v.codecString],
        ['width', v.width],
        ['height', v.height],
        ['frameRate', fps !== undefined && fps > 0 && fps < 1000 ? dashFrameRate(fps) : undefined],
      ])}>`,
      ...template(`../${r.stream}/`, 'v', m.query(r.stream), t, '        '),
      '      </Representation>',
    );
  }
  if (reps.length === 0) return undefined;
  const target = m.targetDuration;
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<MPD${attrs([
      ['xmlns', 'urn:mpeg:dash:schema:mpd:2011'],
      ['type', 'dynamic'],
      ['profiles', 'urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019'],
      ['availabilityStartTime', ast.toISOString()],
      ['publishTime', m.now.toISOString()],
      ['minimumUpdatePeriod', isoDuration(target)],
      ['timeShiftBufferDepth', isoDuration(Math.max(window, 3 * target))],
      ['suggestedPresentationDelay', isoDuration(3 * target)],
      ['minBufferTime', isoDuration(target)],
      ['maxSegmentDuration', isoDuration(target)],
    ])}>`,
    '  <Period id="0" start="PT0S">',
    `    <AdaptationSet${attrs([
      ['id', 0],
      ['contentType', 'video'],
      ['mimeType', 'video/mp4'],
      ['startWithSAP', 1],
      ['maxWidth', maxW],
      ['maxHeight', maxH],
    ])}>`,
    ...reps,
    '    </AdaptationSet>',
  );
  const a = src.segmenter.tracks.audio;
  const at = timeline(src, 'audio');
  if (a && at && src.store.dashInit?.audio) {
    const listed = src.store.listed.filter((s) => s.dash?.audio);
    const seconds = listed.reduce((n, s) => n + s.duration, 0) || 1;
    const bytes = listed.reduce((n, s) => n + (s.dash?.audio?.length ?? 0), 0);
    out.push(
      `    <AdaptationSet${attrs([
        ['id', 1],
        ['contentType', 'audio'],
        ['mimeType', 'audio/mp4'],
        ['startWithSAP', 1],
      ])}>`,
      `      <Representation${attrs([
        ['id', 'a'],
        ['bandwidth', Math.ceil((bytes * 8) / seconds)],
        ['codecs', a.codecString],
        ['audioSamplingRate', a.sampleRate],
      ])}>`,
      ...template('', 'a', m.query(m.sourceName), at, '        '),
      '      </Representation>',
      '    </AdaptationSet>',
    );
  }
  out.push(
    '  </Period>',
    `  <UTCTiming${attrs([
      ['schemeIdUri', 'urn:mpeg:dash:utc:http-iso:2014'],
      ['value', m.timeUrl],
    ])}/>`,
    '</MPD>',
  );
  return `${out.join('\n')}\n`;
}
