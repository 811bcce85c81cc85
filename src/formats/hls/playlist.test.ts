import { describe, expect, it } from 'vitest';
import { checkMediaPlaylistText } from './check.js';
import {
  type HlsPart,
  type HlsSegment,
  type MediaPlaylist,
  renderMediaPlaylist,
  skippableSegmentCount,
} from './playlist.js';

const t0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const text = (lines: string[]) => `${lines.join('\n')}\n`;

function seg(msn: number, duration: number, ext = 'ts', extra: Partial<HlsSegment> = {}): HlsSegment {
  return { msn, duration, uri: `seg${msn}.${ext}`, discontinuity: false, parts: [], ...extra };
}
function parts(msn: number, durations: number[]): HlsPart[] {
  return durations.map((duration, j) => ({ duration, uri: `part${msn}.${j}.m4s`, independent: j === 0 }));
}
function live(extra: Partial<MediaPlaylist>): MediaPlaylist {
  return {
    targetDuration: 2,
    mediaSequence: 0,
    discontinuitySequence: 0,
    segments: [],
    endList: false,
    independentSegments: false,
    ...extra,
  };
}
function rendered(p: MediaPlaylist, opts?: { skip?: number }): string {
  const out = renderMediaPlaylist(p, opts);
  expect(checkMediaPlaylistText(out)).toEqual([]);
  return out;
}

describe('renderMediaPlaylist fixtures', () => {
  it('plain live MPEG-TS playlist: version 3, no ENDLIST, EXTINF with 3 decimals', () => {
    const p = live({
      mediaSequence: 7,
      segments: [seg(7, 2), seg(8, 1.9996), seg(9, 2.0417, 'ts', { programDateTime: new Date(t0) })],
    });
    expect(rendered(p)).toBe(
      text([
        '#EXTM3U',
        '#EXT-X-VERSION:3',
        '#EXT-X-TARGETDURATION:2',
        '#EXT-X-MEDIA-SEQUENCE:7',
        '#EXTINF:2.000,',
        'seg7.ts',
        '#EXTINF:2.000,',
        'seg8.ts',
        '#EXT-X-PROGRAM-DATE-TIME:2025-01-01T12:00:00.000Z',
        '#EXTINF:2.042,',
        'seg9.ts',
      ]),
    );
  });

  it('fMP4 playlist: EXT-X-MAP before the first segment, version 6, independent segments', () => {
    const p = live({
      targetDuration: 4,
      mediaSequence: 100,
      mapUri: 'init.mp4?v=1',
      independentSegments: true,
      segments: [
        seg(100, 4, 'm4s', { programDateTime: new Date(t0) }),
        seg(101, 3.5, 'm4s', { programDateTime: new Date(t0 + 4000) }),
      ],
    });
    expect(rendered(p)).toBe(
      text([
        '#EXTM3U',
        '#EXT-X-VERSION:6',
        '#EXT-X-TARGETDURATION:4',
        '#EXT-X-MEDIA-SEQUENCE:100',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MAP:URI="init.mp4?v=1"',
        '#EXT-X-PROGRAM-DATE-TIME:2025-01-01T12:00:00.000Z',
        '#EXTINF:4.000,',
        'seg100.m4s',
        '#EXT-X-PROGRAM-DATE-TIME:2025-01-01T12:00:04.000Z',
        '#EXTINF:3.500,',
        'seg101.m4s',
      ]),
    );
  });

  const ll = (extra: Partial<MediaPlaylist> = {}): MediaPlaylist =>
    live({
      targetDuration: 1,
      mediaSequence: 20,
      mapUri: 'init.mp4',
      independentSegments: true,
      partTarget: 0.5,
      segments: [
        seg(20, 1, 'm4s', { parts: parts(20, [0.5, 0.5]) }),
        seg(21, 1, 'm4s', { parts: parts(21, [0.5, 0.5]) }),
        seg(22, 1, 'm4s', { parts: parts(22, [0.5, 0.5]) }),
        seg(23, 0.9, 'm4s', { parts: parts(23, [0.5, 0.4]) }),
      ],
      partialSegment: { msn: 24, parts: parts(24, [0.5]) },
      preloadHint: { uri: 'part24.1.m4s' },
      serverControl: { canBlockReload: true, canSkipUntil: 6 },
      renditionReports: [{ uri: '../audio/index.m3u8', lastMsn: 24, lastPart: 0 }],
      ...extra,
    });

  it('LL-HLS: parts of recent segments, partial segment, preload hint, server control, rendition report', () => {
    expect(rendered(ll())).toBe(
      text([
        '#EXTM3U',
        '#EXT-X-VERSION:6',
        '#EXT-X-TARGETDURATION:1',
        '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.000,PART-HOLD-BACK=1.500',
        '#EXT-X-PART-INF:PART-TARGET=0.500',
        '#EXT-X-MEDIA-SEQUENCE:20',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MAP:URI="init.mp4"',
        '#EXTINF:1.000,', // ends 3.4 s before the end (> 3 target durations): its parts are gone
        'seg20.m4s',
        '#EXT-X-PART:DURATION=0.500,URI="part21.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PART:DURATION=0.500,URI="part21.1.m4s"',
        '#EXTINF:1.000,',
        'seg21.m4s',
        '#EXT-X-PART:DURATION=0.500,URI="part22.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PART:DURATION=0.500,URI="part22.1.m4s"',
        '#EXTINF:1.000,',
        'seg22.m4s',
        '#EXT-X-PART:DURATION=0.500,URI="part23.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PART:DURATION=0.400,URI="part23.1.m4s"',
        '#EXTINF:0.900,',
        'seg23.m4s',
        '#EXT-X-PART:DURATION=0.500,URI="part24.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part24.1.m4s"',
        '#EXT-X-RENDITION-REPORT:URI="../audio/index.m3u8",LAST-MSN=24,LAST-PART=0',
      ]),
    );
  });

  it('delta update (_HLS_skip): EXT-X-SKIP replaces the old segments, version 9, sequences unchanged', () => {
    const p = ll({
      segments: Array.from({ length: 9 }, (_, i) => seg(20 + i, 1, 'm4s', { discontinuity: i === 1 })),
      discontinuitySequence: 3,
      partialSegment: undefined,
      preloadHint: undefined,
      renditionReports: undefined,
    });
    expect(skippableSegmentCount(p)).toBe(2); // segments ending more than 6 s before the end
    expect(rendered(p, { skip: 99 })).toBe(
      text([
        '#EXTM3U',
        '#EXT-X-VERSION:9',
        '#EXT-X-TARGETDURATION:1',
        '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.000,PART-HOLD-BACK=1.500',
        '#EXT-X-PART-INF:PART-TARGET=0.500',
        '#EXT-X-MEDIA-SEQUENCE:20',
        '#EXT-X-DISCONTINUITY-SEQUENCE:3',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-SKIP:SKIPPED-SEGMENTS=2',
        '#EXT-X-MAP:URI="init.mp4"',
        ...[22, 23, 24, 25, 26, 27, 28].flatMap((n) => ['#EXTINF:1.000,', `seg${n}.m4s`]),
      ]),
    );
    // without CAN-SKIP-UNTIL, or once ended, _HLS_skip is ignored
    expect(renderMediaPlaylist({ ...p, serverControl: { canBlockReload: true } }, { skip: 2 })).not.toMatch(
      /SKIP/,
    );
    expect(renderMediaPlaylist({ ...p, endList: true }, { skip: 2 })).not.toMatch(/EXT-X-SKIP/);
  });

  it('ended playlist: ENDLIST, no preload hint and no partial segment', () => {
    expect(rendered(ll({ endList: true, renditionReports: undefined }))).toBe(
      text([
        '#EXTM3U',
        '#EXT-X-VERSION:6',
        '#EXT-X-TARGETDURATION:1',
        '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,CAN-SKIP-UNTIL=6.000,PART-HOLD-BACK=1.500',
        '#EXT-X-PART-INF:PART-TARGET=0.500',
        '#EXT-X-MEDIA-SEQUENCE:20',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-MAP:URI="init.mp4"',
        // without the partial segment every segment ends within 3 target durations of the end
        '#EXT-X-PART:DURATION=0.500,URI="part20.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PART:DURATION=0.500,URI="part20.1.m4s"',
        '#EXTINF:1.000,',
        'seg20.m4s',
        '#EXT-X-PART:DURATION=0.500,URI="part21.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PART:DURATION=0.500,URI="part21.1.m4s"',
        '#EXTINF:1.000,',
        'seg21.m4s',
        '#EXT-X-PART:DURATION=0.500,URI="part22.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PART:DURATION=0.500,URI="part22.1.m4s"',
        '#EXTINF:1.000,',
        'seg22.m4s',
        '#EXT-X-PART:DURATION=0.500,URI="part23.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PART:DURATION=0.400,URI="part23.1.m4s"',
        '#EXTINF:0.900,',
        'seg23.m4s',
        '#EXT-X-ENDLIST',
      ]),
    );
  });

  it('discontinuity: tag before the segment (and before its parts), new init, DISCONTINUITY-SEQUENCE', () => {
    const p = live({
      mediaSequence: 5,
      discontinuitySequence: 2,
      mapUri: 'init.mp4?v=1',
      partTarget: 1,
      segments: [
        seg(5, 2, 'm4s'),
        seg(6, 1.5, 'm4s', {
          discontinuity: true,
          mapUri: 'init.mp4?v=2',
          programDateTime: new Date(t0),
          parts: parts(6, [1, 0.5]),
        }),
      ],
      partialSegment: { msn: 7, discontinuity: true, mapUri: 'init.mp4?v=3', parts: parts(7, [1]) },
    });
    expect(rendered(p)).toBe(
      text([
        '#EXTM3U',
        '#EXT-X-VERSION:6',
        '#EXT-X-TARGETDURATION:2',
        '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=3.000',
        '#EXT-X-PART-INF:PART-TARGET=1.000',
        '#EXT-X-MEDIA-SEQUENCE:5',
        '#EXT-X-DISCONTINUITY-SEQUENCE:2',
        '#EXT-X-MAP:URI="init.mp4?v=1"',
        '#EXTINF:2.000,',
        'seg5.m4s',
        '#EXT-X-DISCONTINUITY',
        '#EXT-X-MAP:URI="init.mp4?v=2"',
        '#EXT-X-PROGRAM-DATE-TIME:2025-01-01T12:00:00.000Z',
        '#EXT-X-PART:DURATION=1.000,URI="part6.0.m4s",INDEPENDENT=YES',
        '#EXT-X-PART:DURATION=0.500,URI="part6.1.m4s"',
        '#EXTINF:1.500,',
        'seg6.m4s',
        '#EXT-X-DISCONTINUITY',
        '#EXT-X-MAP:URI="init.mp4?v=3"',
        '#EXT-X-PART:DURATION=1.000,URI="part7.0.m4s",INDEPENDENT=YES',
      ]),
    );
  });
});
