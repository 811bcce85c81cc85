/**
 * Live (type="dynamic") MPEG-DASH MPD (ISO/IEC 23009-1) for CMAF/fMP4 segments addressed by SegmentTemplate,
 * with `$Number$` + @duration or a SegmentTimeline; optional low-latency (DASH-IF LL) signalling.
 *
 * Element order follows the MPD schema: ServiceDescription, Period, then UTCTiming. UTCTiming is always written:
 * without it dash.js syncs its clock against time.akamai.com, unreachable offline. All text is XML-escaped.
 */

import { xmlEscape } from './xml.js';

export { xmlEscape } from './xml.js';

export interface DashRepresentation {
  id: string;
  mimeType: 'video/mp4' | 'audio/mp4';
  codecs: string;
  bandwidth: number;
  width?: number;
  height?: number;
  frameRate?: number;
  audioSamplingRate?: number;
  /** SegmentTemplate@timescale of this representation in `$Number$` mode (usually the track timescale) */
  timescale: number;
}

export interface DashLiveMpd {
  availabilityStartTime: Date;
  publishTime: Date;
  /** seconds */
  minimumUpdatePeriod: number;
  timeShiftBufferDepth: number;
  suggestedPresentationDelay: number;
  minBufferTime: number;
  /** nominal segment duration (s): SegmentTemplate@duration and MPD@maxSegmentDuration */
  segmentDuration: number;
  startNumber: number;
  /** e.g. `$RepresentationID$/init.mp4` */
  initialization: string;
  /** e.g. `$RepresentationID$/$Number$.m4s` */
  media: string;
  representations: DashRepresentation[];
  /** clock endpoint; with an empty URL `urn:mpeg:dash:utc:direct:2014` carrying publishTime is written instead */
  utcTimingUrl: string;
  /** scheme of utcTimingUrl (default `urn:mpeg:dash:utc:http-iso:2014`, or `...:http-xsdate:2014`) */
  utcTimingScheme?: string;
  /** seconds */
  lowLatency?: { availabilityTimeOffset: number; targetLatency: number };
  /** SegmentTimeline instead of @duration: S@t/@d/@r, in units of `timelineTimescale` */
  timeline?: Array<{ t: number; d: number; r?: number }>;
  /** timescale of `timeline` values, shared by all representations (default 1000) */
  timelineTimescale?: number;
}

const PROFILES = 'urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019';
const LL_PROFILE = 'http://www.dashif.org/guidelines/low-latency-live-v5';

/** xs:duration in seconds, e.g. `PT2S`, `PT0.5S` (millisecond precision). */
export function isoDuration(seconds: number): string {
  const ms = Number.isFinite(seconds) && seconds > 0 ? Math.round(seconds * 1000) : 0;
  return `PT${ms / 1000}S`;
}

/** FrameRateType (`[0-9]+(/[1-9][0-9]*)?`): integers as is, NTSC rates as n/1001, others as n/1000. */
export function dashFrameRate(fps: number): string {
  if (Number.isInteger(fps)) return String(fps);
  const ntsc = fps * 1.001;
  if (Math.abs(ntsc - Math.round(ntsc)) < 1e-3) return `${Math.round(ntsc) * 1000}/1001`;
  return `${Math.round(fps * 1000)}/1000`;
}

function dateTime(d: Date, what: string): string {
  if (!(d instanceof Date) || !Number.isFinite(d.getTime()))
    throw new TypeError(`MPD ${what} is not a valid Date`);
  return d.toISOString();
}

function attrs(list: Array<[string, string | number | undefined]>): string {
  return list
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => ` ${k}="${xmlEscape(String(v))}"`)
    .join('');
}

function uint(x: number): number {
  return Number.isFinite(x) && x > 0 ? Math.min(Math.round(x), Number.MAX_SAFE_INTEGER) : 0;
}

export function renderMpd(m: DashLiveMpd): string {
  const ll = m.lowLatency;
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  out.push(
    `<MPD${attrs([
      ['xmlns', 'urn:mpeg:dash:schema:mpd:2011'],
      ['type', 'dynamic'],
      ['profiles', ll ? `${PROFILES},${LL_PROFILE}` : PROFILES],
      ['availabilityStartTime', dateTime(m.availabilityStartTime, 'availabilityStartTime')],
      ['publishTime', dateTime(m.publishTime, 'publishTime')],
      ['minimumUpdatePeriod', isoDuration(m.minimumUpdatePeriod)],
      ['timeShiftBufferDepth', isoDuration(m.timeShiftBufferDepth)],
      ['suggestedPresentationDelay', isoDuration(m.suggestedPresentationDelay)],
      ['minBufferTime', isoDuration(m.minBufferTime)],
      ['maxSegmentDuration', isoDuration(m.segmentDuration)],
    ])}>`,
  );
  if (ll) {
    out.push('  <ServiceDescription id="0">');
    out.push(`    <Latency${attrs([['target', uint(ll.targetLatency * 1000)]])}/>`);
    out.push('  </ServiceDescription>');
  }
  out.push('  <Period id="0" start="PT0S">');
  const sets: Array<[DashRepresentation['mimeType'], string]> = [
    ['video/mp4', 'video'],
    ['audio/mp4', 'audio'],
  ];
  let setId = 0;
  for (const [mimeType, contentType] of sets) {
    const reps = m.representations.filter((r) => r.mimeType === mimeType);
    if (reps.length === 0) continue;
    const video = contentType === 'video';
    out.push(
      `    <AdaptationSet${attrs([
        ['id', setId++],
        ['contentType', contentType],
        ['mimeType', mimeType],
        ['segmentAlignment', 'true'],
        ['startWithSAP', '1'],
        ['maxWidth', video ? maxOf(reps, (r) => r.width) : undefined],
        ['maxHeight', video ? maxOf(reps, (r) => r.height) : undefined],
      ])}>`,
    );
    // one template for the set when the timescales agree (always in timeline mode), else one per representation
    const shared = m.timeline !== undefined || reps.every((r) => r.timescale === reps[0].timescale);
    if (shared) out.push(...segmentTemplate(m, reps[0].timescale, '      '));
    for (const r of reps) {
      const a = attrs([
        ['id', r.id],
        ['bandwidth', uint(r.bandwidth)],
        ['codecs', r.codecs],
        ['width', r.width !== undefined ? uint(r.width) : undefined],
        ['height', r.height !== undefined ? uint(r.height) : undefined],
        [
          'frameRate',
          r.frameRate !== undefined && r.frameRate > 0 && r.frameRate < 1e6
            ? dashFrameRate(r.frameRate)
            : undefined,
        ],
        ['audioSamplingRate', r.audioSamplingRate !== undefined ? uint(r.audioSamplingRate) : undefined],
      ]);
      if (shared) out.push(`      <Representation${a}/>`);
      else
        out.push(
          `      <Representation${a}>`,
          ...segmentTemplate(m, r.timescale, '        '),
          '      </Representation>',
        );
    }
    out.push('    </AdaptationSet>');
  }
  out.push('  </Period>');
  if (m.utcTimingUrl) {
    const scheme = m.utcTimingScheme || 'urn:mpeg:dash:utc:http-iso:2014';
    out.push(
      `  <UTCTiming${attrs([
        ['schemeIdUri', scheme],
        ['value', m.utcTimingUrl],
      ])}/>`,
    );
  } else {
    const value = dateTime(m.publishTime, 'publishTime');
    out.push(
      `  <UTCTiming${attrs([
        ['schemeIdUri', 'urn:mpeg:dash:utc:direct:2014'],
        ['value', value],
      ])}/>`,
    );
  }
  out.push('</MPD>');
  return `${out.join('\n')}\n`;
}

function maxOf(
  reps: DashRepresentation[],
  f: (r: DashRepresentation) => number | undefined,
): number | undefined {
  const v = reps.map(f).filter((x): x is number => x !== undefined && Number.isFinite(x));
  return v.length ? uint(Math.max(...v)) : undefined;
}

function segmentTemplate(m: DashLiveMpd, repTimescale: number, indent: string): string[] {
  const ll = m.lowLatency;
  const timeline = m.timeline;
  const timescale = timeline ? uint(m.timelineTimescale ?? 1000) || 1000 : uint(repTimescale) || 1;
  const a = attrs([
    ['timescale', timescale],
    ['duration', timeline ? undefined : Math.max(1, uint(m.segmentDuration * timescale))],
    ['startNumber', uint(m.startNumber)],
    ['initialization', m.initialization],
    ['media', m.media],
    ['availabilityTimeOffset', ll ? uint(ll.availabilityTimeOffset * 1000) / 1000 : undefined],
    ['availabilityTimeComplete', ll ? 'false' : undefined],
  ]);
  if (!timeline) return [`${indent}<SegmentTemplate${a}/>`];
  const s = timeline.map(
    (e) =>
      `${indent}    <S${attrs([
        ['t', uint(e.t)],
        ['d', uint(e.d)],
        ['r', e.r ? Math.round(e.r) : undefined],
      ])}/>`,
  );
  return [
    `${indent}<SegmentTemplate${a}>`,
    `${indent}  <SegmentTimeline>`,
    ...s,
    `${indent}  </SegmentTimeline>`,
    `${indent}</SegmentTemplate>`,
  ];
}
