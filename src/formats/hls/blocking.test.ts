import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  advancePartLimit,
  type BlockingState,
  blockingStateOf,
  decideBlocking,
  parseBlockingQuery,
} from './blocking.js';
import type { MediaPlaylist } from './playlist.js';

const q = (s: string) => parseBlockingQuery(new URLSearchParams(s));
const kind = (req: { msn?: number; part?: number }, state: BlockingState) => decideBlocking(req, state).kind;

describe('parseBlockingQuery', () => {
  it.each([
    ['', {}],
    ['_HLS_msn=5', { msn: 5 }],
    ['_HLS_msn=5&_HLS_part=0', { msn: 5, part: 0 }],
    ['_HLS_msn=0&_HLS_skip=YES', { msn: 0, skip: 'YES' }],
    ['_HLS_skip=v2', { skip: 'v2' }],
    ['_HLS_skip=yes', {}], // unrecognised value: full playlist
    ['other=1&_HLS_msn=007', { msn: 7 }],
  ])('%s', (s, want) => expect(q(s)).toEqual(want));

  it.each([
    '_HLS_part=1',
    '_HLS_msn=-1',
    '_HLS_msn=abc',
    '_HLS_msn=1.5',
    '_HLS_msn=',
    '_HLS_msn=1e3',
    '_HLS_msn=%205',
    '_HLS_msn=1&_HLS_msn=2',
    '_HLS_msn=1&_HLS_part=x',
    '_HLS_msn=9999999999999999',
  ])('rejects %s', (s) => expect(q(s)).toHaveProperty('error'));
});

describe('advancePartLimit', () => {
  it('is 3 / PART-TARGET below 1 s, else 3', () => {
    expect(advancePartLimit(0.2)).toBeCloseTo(15);
    expect(advancePartLimit(0.5)).toBe(6);
    expect(advancePartLimit(1)).toBe(3);
    expect(advancePartLimit(2)).toBe(3);
    expect(advancePartLimit(undefined)).toBe(3);
  });
});

describe('decideBlocking', () => {
  // segment 11 is being built and has parts 0..2; 10 and before are complete
  const building: BlockingState = { lastMsn: 11, lastPart: 2, partTarget: 0.5, ended: false };

  it.each<[string, { msn?: number; part?: number }, string]>([
    ['no directive', {}, 'ready'],
    ['part without msn', { part: 1 }, 'bad-request'],
    ['complete segment', { msn: 10 }, 'ready'],
    ['old segment', { msn: 2 }, 'ready'],
    ['segment being built', { msn: 11 }, 'wait'],
    ['msn = last + 2', { msn: 13 }, 'wait'],
    ['msn > last + 2', { msn: 14 }, 'bad-request'],
    ['listed part', { msn: 11, part: 2 }, 'ready'],
    ['first part', { msn: 11, part: 0 }, 'ready'],
    ['next part', { msn: 11, part: 3 }, 'wait'],
    ['6 parts ahead (limit 3/0.5 = 6)', { msn: 11, part: 8 }, 'wait'],
    ['7 parts ahead', { msn: 11, part: 9 }, 'bad-request'],
    ['past the last part of a complete segment: part 0 of the next, listed', { msn: 10, part: 99 }, 'ready'],
    ['part of an old segment', { msn: 3, part: 1 }, 'ready'],
    ['next segment, no part limit without partsPerSegmentMax', { msn: 12, part: 30 }, 'wait'],
  ])('%s', (_, req, want) => expect(kind(req, building)).toBe(want));

  it('ignores directives once the playlist has ended, except a part without msn', () => {
    const ended = { ...building, ended: true };
    expect(kind({ msn: 100 }, ended)).toBe('ready');
    expect(kind({ msn: 11, part: 50 }, ended)).toBe('ready');
    expect(kind({ part: 1 }, ended)).toBe('bad-request');
  });

  it('between segments (segment 11 opened, no part yet)', () => {
    const s: BlockingState = {
      lastMsn: 11,
      lastPart: -1,
      partTarget: 1,
      ended: false,
      lastCompletePartCount: 4,
    };
    expect(kind({ msn: 10 }, s)).toBe('ready');
    expect(kind({ msn: 11 }, s)).toBe('wait');
    expect(kind({ msn: 10, part: 3 }, s)).toBe('ready'); // the last part of 10
    expect(kind({ msn: 10, part: 4 }, s)).toBe('wait'); // = part 0 of 11, not there yet
    expect(kind({ msn: 11, part: 0 }, s)).toBe('wait');
    expect(kind({ msn: 11, part: 2 }, s)).toBe('wait'); // 3 ahead of the last part (limit 3)
    expect(kind({ msn: 11, part: 3 }, s)).toBe('bad-request');
    // part count of segment 10 unknown: part 0 surely exists, a later one is taken as the next segment's
    const unknown = { ...s, lastCompletePartCount: undefined };
    expect(kind({ msn: 10, part: 0 }, unknown)).toBe('ready');
    expect(kind({ msn: 10, part: 1 }, unknown)).toBe('wait');
  });

  it('with nothing being built (lastMsnComplete), lastMsn is the last complete segment', () => {
    const s: BlockingState = {
      lastMsn: 11,
      lastPart: -1,
      lastMsnComplete: true,
      ended: false,
      lastCompletePartCount: 4,
    };
    expect(kind({ msn: 11 }, s)).toBe('ready');
    expect(kind({ msn: 12 }, s)).toBe('wait');
    expect(kind({ msn: 13 }, s)).toBe('wait');
    expect(kind({ msn: 14 }, s)).toBe('bad-request');
    expect(kind({ msn: 11, part: 3 }, s)).toBe('ready');
    expect(kind({ msn: 11, part: 4 }, s)).toBe('wait');
    expect(kind({ msn: 12, part: 0 }, s)).toBe('wait');
  });

  it('applies the Advance Part Limit across segment boundaries with partsPerSegmentMax', () => {
    const s: BlockingState = { lastMsn: 11, lastPart: 2, partsPerSegmentMax: 4, partTarget: 1, ended: false };
    expect(kind({ msn: 12, part: 0 }, s)).toBe('wait'); // 2 ahead (part 3 of 11, then part 0 of 12)
    expect(kind({ msn: 12, part: 1 }, s)).toBe('wait'); // 3 ahead
    expect(kind({ msn: 12, part: 2 }, s)).toBe('bad-request'); // 4 ahead
    expect(kind({ msn: 13, part: 0 }, s)).toBe('bad-request');
    expect(kind({ msn: 11, part: 9 }, s)).toBe('wait'); // past any last part of 11: part 0 of 12
  });

  it('matches a simulated stream: ready exactly when the segment / part (or a later one) is listed', () => {
    const arb = fc.record({
      max: fc.integer({ min: 1, max: 8 }),
      counts: fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 6 }),
      open: fc.integer({ min: 0, max: 8 }),
      msn: fc.integer({ min: 0, max: 9 }),
      part: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
      partTarget: fc.constantFrom(0.2, 0.5, 1, 2),
    });
    fc.assert(
      fc.property(arb, ({ max, counts, open, msn, part, partTarget }) => {
        const c = counts.map((n) => Math.min(n, max)); // complete segments 0..k-1
        const k = c.length;
        const j = Math.min(open, max); // parts of the open segment k
        const state: BlockingState = {
          lastMsn: k,
          lastPart: j - 1,
          lastCompletePartCount: c[k - 1],
          partsPerSegmentMax: max,
          partTarget,
          ended: false,
        };
        const nextStarted = (m: number) => m + 1 < k || (m + 1 === k && j > 0);
        let ready: boolean;
        if (part === undefined) ready = msn < k;
        else if (msn < k) ready = part < c[msn] || nextStarted(msn);
        else ready = msn === k && part < j;
        const got = kind({ msn, part }, state);
        if (ready) expect(got).toBe('ready');
        else expect(got).not.toBe('ready');
        if (msn > k + 2) expect(got).toBe('bad-request');
      }),
      { numRuns: 2000 },
    );
  });
});

describe('blockingStateOf', () => {
  const base: MediaPlaylist = {
    targetDuration: 1,
    mediaSequence: 4,
    discontinuitySequence: 0,
    segments: [
      { msn: 4, duration: 1, uri: 's4', discontinuity: false, parts: [] },
      {
        msn: 5,
        duration: 1,
        uri: 's5',
        discontinuity: false,
        parts: [
          { duration: 0.5, uri: 'p5.0', independent: true },
          { duration: 0.5, uri: 'p5.1', independent: false },
        ],
      },
    ],
    endList: false,
    independentSegments: true,
    partTarget: 0.5,
    partialSegment: { msn: 6, parts: [{ duration: 0.5, uri: 'p6.0', independent: true }] },
  };

  it('uses the partial segment as the one being built', () => {
    expect(blockingStateOf(base)).toEqual({
      lastMsn: 6,
      lastPart: 0,
      lastMsnComplete: false,
      lastCompletePartCount: 2,
      partTarget: 0.5,
      ended: false,
    });
  });

  it('treats the last segment as complete when no part is being built', () => {
    const s = blockingStateOf({ ...base, partialSegment: { msn: 6, parts: [] } });
    expect(s).toMatchObject({ lastMsn: 5, lastPart: -1, lastMsnComplete: true });
    expect(decideBlocking({ msn: 5 }, s).kind).toBe('ready');
    expect(decideBlocking({ msn: 5, part: 2 }, s).kind).toBe('wait');
    expect(blockingStateOf({ ...base, segments: [], partialSegment: undefined })).toMatchObject({
      lastMsn: 3,
    });
  });
});
