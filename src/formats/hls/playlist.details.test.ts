import { describe, expect, it } from 'vitest';
import { checkMediaPlaylistText } from './check.js';
import { type HlsSegment, type MediaPlaylist, renderMediaPlaylist } from './playlist.js';

function seg(msn: number, duration: number, ext = 'ts', extra: Partial<HlsSegment> = {}): HlsSegment {
  return { msn, duration, uri: `seg${msn}.${ext}`, discontinuity: false, parts: [], ...extra };
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

describe('renderMediaPlaylist details', () => {
  it('writes DISCONTINUITY-SEQUENCE:0 only when the playlist has a discontinuity', () => {
    expect(renderMediaPlaylist(live({ segments: [seg(0, 2)] }))).not.toMatch(/DISCONTINUITY/);
    const out = rendered(live({ segments: [seg(0, 2, 'ts', { discontinuity: true })] }));
    expect(out).toMatch(/#EXT-X-DISCONTINUITY-SEQUENCE:0\n/);
  });

  it('raises hold-back values to the spec floors and GAP marks gaps', () => {
    const p = live({
      partTarget: 0.2,
      segments: [
        seg(0, 2, 'm4s', {
          gap: true,
          parts: [{ duration: 0.2, uri: 'p.m4s', independent: false, gap: true }],
        }),
      ],
      serverControl: { canBlockReload: false, partHoldBack: 0.1, holdBack: 1, canSkipUntil: 2 },
    });
    const out = rendered(p);
    expect(out).toMatch(
      /^#EXT-X-SERVER-CONTROL:CAN-SKIP-UNTIL=12.000,HOLD-BACK=6.000,PART-HOLD-BACK=0.400$/m,
    );
    expect(out).toMatch(/#EXT-X-PART:DURATION=0.200,URI="p.m4s",GAP=YES\n#EXT-X-GAP\n#EXTINF:2.000,\n/);
  });

  it('escapes URIs and drops an invalid PROGRAM-DATE-TIME', () => {
    const p = live({
      segments: [seg(0, 1, 'ts', { uri: '#a"b\nc.ts', programDateTime: new Date(Number.NaN) })],
      preloadHint: { uri: 'x' }, // no parts: no hint
    });
    expect(rendered(p)).toMatch(/#EXTINF:1.000,\n%23a%22b%0Ac.ts\n$/);
  });

  it('keeps TARGETDURATION a positive integer', () => {
    expect(renderMediaPlaylist(live({ targetDuration: 0 }))).toMatch(/TARGETDURATION:1\n/);
    expect(renderMediaPlaylist(live({ targetDuration: 2.2 }))).toMatch(/TARGETDURATION:3\n/);
  });

  it('honours partWindow and keeps the init section in effect across skipped segments', () => {
    const part = (uri: string) => [{ duration: 1, uri, independent: true }];
    const p = live({
      targetDuration: 1,
      partTarget: 1,
      mapUri: 'i1.mp4',
      serverControl: { canBlockReload: true, canSkipUntil: 6 },
      segments: Array.from({ length: 9 }, (_, i) =>
        seg(i, 1, 'm4s', { parts: part(`p${i}`), mapUri: i === 1 ? 'i2.mp4' : undefined }),
      ),
      partWindow: 1,
    });
    const out = rendered(p, { skip: 2 });
    expect(out).toMatch(
      /#EXT-X-SKIP:SKIPPED-SEGMENTS=2\n#EXT-X-MAP:URI="i2.mp4"\n#EXTINF:1.000,\nseg2.m4s\n/,
    );
    expect(out.match(/#EXT-X-PART:/g)).toHaveLength(2); // segments 7 and 8 end within 1 s of the end
    expect(rendered(p, { skip: 0 })).not.toMatch(/SKIP:/);
  });
});
