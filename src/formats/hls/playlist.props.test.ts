import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkMediaPlaylistText, parseAttributes, parseMediaPlaylistText } from './check.js';
import { type HlsPart, type HlsSegment, type MediaPlaylist, renderMediaPlaylist } from './playlist.js';

const safeUri = fc.stringMatching(/^[a-z0-9][a-z0-9._/?=&-]{0,19}$/);
const date = fc.date({ min: new Date(0), max: new Date(Date.UTC(2100, 0, 1)), noInvalidDate: true });

/** Parts of one segment: each within [0.85, 1] x PART-TARGET (whole ms), fitting in the target duration. */
function partsArb(pt: number, td: number): fc.Arbitrary<HlsPart[]> {
  const ptMs = Math.round(pt * 1000);
  const part = fc.record({
    duration: fc.integer({ min: Math.ceil(0.85 * ptMs), max: ptMs }).map((ms) => ms / 1000),
    uri: safeUri,
    independent: fc.boolean(),
    gap: fc.option(fc.boolean(), { nil: undefined }),
  });
  return fc.array(part, { minLength: 1, maxLength: Math.max(1, Math.floor(td / pt)) });
}

const playlistArb: fc.Arbitrary<{ p: MediaPlaylist; skip: number }> = fc
  .record({
    td: fc.integer({ min: 1, max: 10 }),
    pt: fc.option(fc.constantFrom(0.2, 0.25, 0.333, 0.5, 1), { nil: undefined }),
  })
  .chain(({ td, pt }) => {
    const ll = pt !== undefined && pt <= td ? pt : undefined;
    const durationMs = fc.integer({ min: 1, max: td * 1000 + 499 }); // rounds to <= td
    const segment = fc.record({
      duration: durationMs.map((ms) => ms / 1000),
      uri: safeUri,
      programDateTime: fc.option(date, { nil: undefined }),
      discontinuity: fc.boolean(),
      parts: ll ? partsArb(ll, td) : fc.constant<HlsPart[]>([]),
      gap: fc.option(fc.boolean(), { nil: undefined }),
      mapUri: fc.option(safeUri, { nil: undefined, freq: 8 }),
    });
    return fc.record({
      p: fc.record({
        targetDuration: fc.constant(td),
        mediaSequence: fc.integer({ min: 0, max: 1e9 }),
        discontinuitySequence: fc.integer({ min: 0, max: 1000 }),
        segments: fc.array(segment, { maxLength: 15 }),
        mapUri: fc.option(safeUri, { nil: undefined }),
        endList: fc.boolean(),
        independentSegments: fc.boolean(),
        partTarget: fc.constant(ll),
        partialSegment: fc.option(
          fc.record({
            msn: fc.nat(),
            parts: ll ? partsArb(ll, td) : fc.constant<HlsPart[]>([]),
            discontinuity: fc.option(fc.boolean(), { nil: undefined }),
          }),
          { nil: undefined },
        ),
        preloadHint: fc.option(fc.record({ uri: safeUri }), { nil: undefined }),
        serverControl: fc.option(
          fc.record({
            canBlockReload: fc.boolean(),
            partHoldBack: fc.option(fc.double({ min: 0, max: 10, noNaN: true }), { nil: undefined }),
            holdBack: fc.option(fc.double({ min: 0, max: 60, noNaN: true }), { nil: undefined }),
            canSkipUntil: fc.option(fc.double({ min: 0, max: 120, noNaN: true }), { nil: undefined }),
          }),
          { nil: undefined },
        ),
        renditionReports: fc.option(
          fc.array(
            fc.record({ uri: safeUri, lastMsn: fc.nat(), lastPart: fc.option(fc.nat(), { nil: undefined }) }),
          ),
          { nil: undefined },
        ),
      }),
      skip: fc.integer({ min: 0, max: 20 }),
    });
  })
  .map(({ p, skip }) => ({
    p: { ...p, segments: p.segments.map((s, i): HlsSegment => ({ ...s, msn: p.mediaSequence + i })) },
    skip,
  }));

describe('renderMediaPlaylist properties', () => {
  it('random playlists render and keep every checked invariant', () => {
    fc.assert(
      fc.property(playlistArb, ({ p, skip }) => {
        const out = renderMediaPlaylist(p, { skip });
        expect(checkMediaPlaylistText(out)).toEqual([]);
        const parsed = parseMediaPlaylistText(out);
        expect(parsed.segments.length + parsed.skipped).toBe(p.segments.length);
        expect(parsed.mediaSequence).toBe(p.mediaSequence);
        expect(parsed.discontinuitySequence).toBe(p.discontinuitySequence);
        expect(parsed.endList).toBe(p.endList);
        const listed = p.segments.slice(parsed.skipped);
        parsed.segments.forEach((s, i) => {
          expect(s.uri).toBe(listed[i].uri);
          expect(s.duration).toBe(Number(listed[i].duration.toFixed(3)));
          expect(s.discontinuity).toBe(listed[i].discontinuity);
          expect(s.gap).toBe(listed[i].gap === true);
          // parts are listed in full or not at all
          if (s.parts.length) expect(s.parts.map((x) => x.uri)).toEqual(listed[i].parts.map((x) => x.uri));
        });
        const ll = p.partTarget !== undefined;
        expect(parsed.partTarget !== undefined).toBe(ll);
        if (ll) {
          // the newest segment always carries its parts; the partial segment's parts follow it
          if (parsed.segments.length) expect(parsed.segments.at(-1)?.parts.length).toBeGreaterThan(0);
          const partial = !p.endList && p.partialSegment ? p.partialSegment.parts : [];
          expect(parsed.trailingParts.map((x) => x.uri)).toEqual(partial.map((x) => x.uri));
          expect(parsed.serverControl?.['PART-HOLD-BACK']).toBeDefined();
        }
        expect(parsed.preloadHint !== undefined).toBe(ll && !p.endList && p.preloadHint !== undefined);
        expect(parsed.renditionReports.length).toBe(p.renditionReports?.length ?? 0);
      }),
      { numRuns: 500 },
    );
  });

  it('any URI text stays on its line and inside its quotes', () => {
    const uri = fc.oneof(
      fc.string({ unit: 'binary-ascii', minLength: 1 }),
      fc.string({ unit: 'binary', minLength: 1 }),
    );
    fc.assert(
      fc.property(uri, uri, (a, b) => {
        const out = renderMediaPlaylist({
          targetDuration: 2,
          mediaSequence: 0,
          discontinuitySequence: 0,
          segments: [
            {
              msn: 0,
              duration: 2,
              uri: a,
              discontinuity: false,
              parts: [{ duration: 1, uri: b, independent: true }],
            },
          ],
          mapUri: b,
          endList: false,
          independentSegments: false,
          partTarget: 1,
          preloadHint: { uri: a },
        });
        expect(checkMediaPlaylistText(out)).toEqual([]);
        expect(out.split('\n')).toHaveLength(12); // 11 lines + final newline
      }),
    );
  });

  it('never throws on out-of-range numbers', () => {
    const num = fc.oneof(fc.double(), fc.constantFrom(Number.NaN, -1, Number.POSITIVE_INFINITY, 1e300));
    fc.assert(
      fc.property(num, num, num, num, (a, b, c, d) => {
        const out = renderMediaPlaylist(
          {
            targetDuration: a,
            mediaSequence: b,
            discontinuitySequence: c,
            segments: [{ msn: 0, duration: d, uri: 's', discontinuity: true, parts: [] }],
            endList: false,
            independentSegments: false,
            partTarget: d,
            serverControl: { canBlockReload: true, partHoldBack: a, holdBack: b, canSkipUntil: c },
            renditionReports: [{ uri: 'r', lastMsn: a, lastPart: b }],
          },
          { skip: d },
        );
        expect(out.startsWith('#EXTM3U\n')).toBe(true);
      }),
    );
  });
});

describe('checkMediaPlaylistText', () => {
  const ok = ['#EXTM3U', '#EXT-X-VERSION:3', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0'];
  const problems = (lines: string[]) => checkMediaPlaylistText(`${lines.join('\n')}\n`);

  it('accepts a minimal playlist and reports each broken rule', () => {
    expect(problems([...ok, '#EXTINF:2.499,', 'a.ts'])).toEqual([]);
    expect(problems([...ok, '#EXTINF:2.500,', 'a.ts'])).toEqual(['EXTINF 2.5 rounds above 2']);
    expect(problems([...ok, '#EXT-X-MAP:URI="i.mp4"', '#EXTINF:2,', 'a.m4s'])[0]).toMatch(
      /VERSION 3 .* need exactly 6/,
    );
    expect(problems([...ok, '#EXTINF:2,'])).toContain('EXTINF without URI at the end');
    expect(problems([...ok, '#EXT-X-ENDLIST', '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="p"'])).toContain(
      'EXT-X-PRELOAD-HINT with EXT-X-ENDLIST',
    );
    const ll = [
      ...ok,
      '#EXT-X-SERVER-CONTROL:PART-HOLD-BACK=0.5',
      '#EXT-X-PART-INF:PART-TARGET=0.5',
      '#EXT-X-PART:DURATION=0.6,URI="p0"',
      '#EXT-X-DISCONTINUITY',
      '#EXTINF:2,',
      'a.m4s',
    ];
    expect(problems(ll)).toEqual([
      '#EXT-X-DISCONTINUITY after the first EXT-X-PART',
      'part p0 0.6 > PART-TARGET 0.5',
      'PART-HOLD-BACK 0.5 < 2 x PART-TARGET',
      'discontinuities without DISCONTINUITY-SEQUENCE',
    ]);
  });

  it('parses attribute lists with quoted commas', () => {
    expect(parseAttributes('CODECS="a,b",BANDWIDTH=5,URI=""')).toEqual({
      CODECS: 'a,b',
      BANDWIDTH: '5',
      URI: '',
    });
  });
});
