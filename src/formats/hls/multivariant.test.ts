import { describe, expect, it } from 'vitest';
import { renderMultivariantPlaylist } from './playlist.js';

const text = (lines: string[]) => `${lines.join('\n')}\n`;

describe('renderMultivariantPlaylist', () => {
  it('writes one EXT-X-STREAM-INF per variant', () => {
    const out = renderMultivariantPlaylist(
      [
        {
          uri: 'hi/index.m3u8',
          bandwidth: 2_500_000.4,
          averageBandwidth: 2_000_000,
          codecs: 'avc1.64001f,mp4a.40.2',
          resolution: { width: 1280, height: 720 },
          frameRate: 29.97,
        },
        { uri: 'audio/index.m3u8', bandwidth: 128_000, codecs: 'mp4a.40.2' },
      ],
      { independentSegments: true },
    );
    expect(out).toBe(
      text([
        '#EXTM3U',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-STREAM-INF:BANDWIDTH=2500000,AVERAGE-BANDWIDTH=2000000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=29.970',
        'hi/index.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=128000,CODECS="mp4a.40.2"',
        'audio/index.m3u8',
      ]),
    );
  });
});

describe('renderMultivariantPlaylist edge cases', () => {
  it('omits empty CODECS, strips quotes/control characters and escapes URI lines', () => {
    const out = renderMultivariantPlaylist([
      { uri: '#x\ny.m3u8', bandwidth: -5, codecs: '' },
      { uri: 'b.m3u8', bandwidth: 1, codecs: 'a"v\nc', frameRate: 0 },
    ]);
    expect(out).toBe(
      text([
        '#EXTM3U',
        '#EXT-X-STREAM-INF:BANDWIDTH=0',
        '%23x%0Ay.m3u8',
        '#EXT-X-STREAM-INF:BANDWIDTH=1,CODECS="avc"',
        'b.m3u8',
      ]),
    );
  });
});
