import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DashLiveMpd, dashFrameRate, isoDuration, renderMpd, xmlEscape } from './mpd.js';
import { type XmlElement as El, parseXml } from './xml.js';

const find = (el: El, name: string): El[] =>
  el.children.flatMap((c) => (c.name === name ? [c, ...find(c, name)] : find(c, name)));

function mpd(extra: Partial<DashLiveMpd> = {}): DashLiveMpd {
  return {
    availabilityStartTime: new Date(Date.UTC(2025, 0, 1, 12)),
    publishTime: new Date(Date.UTC(2025, 0, 1, 12, 5)),
    minimumUpdatePeriod: 2,
    timeShiftBufferDepth: 30,
    suggestedPresentationDelay: 6,
    minBufferTime: 2,
    segmentDuration: 2,
    startNumber: 1,
    initialization: '$RepresentationID$/init.mp4',
    media: '$RepresentationID$/$Number$.m4s',
    utcTimingUrl: '/time',
    representations: [
      {
        id: 'v0',
        mimeType: 'video/mp4',
        codecs: 'avc1.64001f',
        bandwidth: 2e6,
        width: 1280,
        height: 720,
        frameRate: 30,
        timescale: 90000,
      },
      {
        id: 'a0',
        mimeType: 'audio/mp4',
        codecs: 'mp4a.40.2',
        bandwidth: 128000,
        audioSamplingRate: 48000,
        timescale: 48000,
      },
    ],
    ...extra,
  };
}

describe('renderMpd', () => {
  it('renders a well-formed dynamic MPD with the required attributes', () => {
    const root = parseXml(renderMpd(mpd()));
    expect(root.name).toBe('MPD');
    expect(root.attrs).toEqual({
      xmlns: 'urn:mpeg:dash:schema:mpd:2011',
      type: 'dynamic',
      profiles: 'urn:mpeg:dash:profile:isoff-live:2011,urn:mpeg:dash:profile:cmaf:2019',
      availabilityStartTime: '2025-01-01T12:00:00.000Z',
      publishTime: '2025-01-01T12:05:00.000Z',
      minimumUpdatePeriod: 'PT2S',
      timeShiftBufferDepth: 'PT30S',
      suggestedPresentationDelay: 'PT6S',
      minBufferTime: 'PT2S',
      maxSegmentDuration: 'PT2S',
    });
    expect(root.children.map((c) => c.name)).toEqual(['Period', 'UTCTiming']);
    expect(root.children[0].attrs).toEqual({ id: '0', start: 'PT0S' });
    expect(root.children[1].attrs).toEqual({
      schemeIdUri: 'urn:mpeg:dash:utc:http-iso:2014',
      value: '/time',
    });
    const sets = find(root, 'AdaptationSet');
    expect(sets.map((s) => [s.attrs.contentType, s.attrs.mimeType])).toEqual([
      ['video', 'video/mp4'],
      ['audio', 'audio/mp4'],
    ]);
    const [vt, at] = find(root, 'SegmentTemplate');
    expect(vt.attrs).toEqual({
      timescale: '90000',
      duration: '180000',
      startNumber: '1',
      initialization: '$RepresentationID$/init.mp4',
      media: '$RepresentationID$/$Number$.m4s',
    });
    expect(at.attrs.timescale).toBe('48000');
    expect(at.attrs.duration).toBe('96000');
    const [v, a] = find(root, 'Representation');
    expect(v.attrs).toEqual({
      id: 'v0',
      bandwidth: '2000000',
      codecs: 'avc1.64001f',
      width: '1280',
      height: '720',
      frameRate: '30',
    });
    expect(a.attrs).toEqual({
      id: 'a0',
      bandwidth: '128000',
      codecs: 'mp4a.40.2',
      audioSamplingRate: '48000',
    });
    expect(find(root, 'ServiceDescription')).toEqual([]);
  });

  it('adds low-latency signalling when enabled', () => {
    const root = parseXml(
      renderMpd(mpd({ lowLatency: { availabilityTimeOffset: 1.5, targetLatency: 3.5 } })),
    );
    expect(root.attrs.profiles).toContain('http://www.dashif.org/guidelines/low-latency-live-v5');
    expect(root.children.map((c) => c.name)).toEqual(['ServiceDescription', 'Period', 'UTCTiming']);
    expect(find(root, 'Latency')[0].attrs).toEqual({ target: '3500' });
    for (const t of find(root, 'SegmentTemplate')) {
      expect(t.attrs.availabilityTimeOffset).toBe('1.5');
      expect(t.attrs.availabilityTimeComplete).toBe('false');
    }
  });

  it('renders a SegmentTimeline variant', () => {
    const root = parseXml(
      renderMpd(
        mpd({
          media: '$RepresentationID$/$Time$.m4s',
          timeline: [
            { t: 0, d: 2000, r: 2 },
            { t: 6000, d: 1500 },
          ],
        }),
      ),
    );
    const t = find(root, 'SegmentTemplate')[0];
    expect(t.attrs.timescale).toBe('1000');
    expect(t.attrs.duration).toBeUndefined();
    expect(find(t, 'S').map((s) => s.attrs)).toEqual([
      { t: '0', d: '2000', r: '2' },
      { t: '6000', d: '1500' },
    ]);
  });

  it('puts a template in each representation when their timescales differ', () => {
    const reps = mpd().representations;
    const root = parseXml(
      renderMpd(mpd({ representations: [reps[0], { ...reps[0], id: 'v1', timescale: 30000 }] })),
    );
    const set = find(root, 'AdaptationSet')[0];
    expect(set.children.map((c) => c.name)).toEqual(['Representation', 'Representation']);
    expect(set.children.map((r) => r.children[0].attrs.timescale)).toEqual(['90000', '30000']);
  });

  it('always has UTCTiming: direct time when no URL is given', () => {
    const root = parseXml(renderMpd(mpd({ utcTimingUrl: '' })));
    expect(find(root, 'UTCTiming')[0].attrs).toEqual({
      schemeIdUri: 'urn:mpeg:dash:utc:direct:2014',
      value: '2025-01-01T12:05:00.000Z',
    });
  });

  it('escapes every value and rejects invalid dates', () => {
    const nasty = `a&b<c>"d'e\u0001\n`;
    const out = renderMpd(mpd({ utcTimingUrl: nasty, media: nasty }));
    const root = parseXml(out);
    expect(find(root, 'UTCTiming')[0].attrs.value).toBe(`a&b<c>"d'e\n`);
    expect(() => renderMpd(mpd({ publishTime: new Date(Number.NaN) }))).toThrow(TypeError);
  });

  it('stays well-formed for arbitrary strings', () => {
    const s = fc.string({ unit: 'binary' });
    fc.assert(
      fc.property(
        s,
        s,
        s,
        fc.option(fc.double({ min: 1, max: 120, noNaN: true })),
        (id, codecs, url, fps) => {
          const reps = mpd().representations.map((r) => ({ ...r, id, codecs, frameRate: fps ?? undefined }));
          const root = parseXml(renderMpd(mpd({ representations: reps, utcTimingUrl: url })));
          expect(find(root, 'Representation').every((r) => r.attrs.id === xmlUnescaped(id))).toBe(true);
          expect(find(root, 'UTCTiming')).toHaveLength(1);
        },
      ),
    );
  });
});

/** What a reader gets back for a string after xmlEscape (characters XML cannot carry are dropped). */
function xmlUnescaped(s: string): string {
  return parseXml(`<x v="${xmlEscape(s)}"/>`).attrs.v;
}

describe('value formatting', () => {
  it('formats xs:duration, frame rates and escapes', () => {
    expect(isoDuration(2)).toBe('PT2S');
    expect(isoDuration(0.5)).toBe('PT0.5S');
    expect(isoDuration(Number.NaN)).toBe('PT0S');
    expect(dashFrameRate(25)).toBe('25');
    expect(dashFrameRate(29.97)).toBe('30000/1001');
    expect(dashFrameRate(23.976)).toBe('24000/1001');
    expect(dashFrameRate(12.5)).toBe('12500/1000');
    expect(xmlEscape('<&>"\'\t')).toBe('&lt;&amp;&gt;&quot;&apos;&#x9;');
  });
});
