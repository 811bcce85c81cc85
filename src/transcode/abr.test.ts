import { describe, expect, it } from 'vitest';
import type { HlsStream } from '../segmenter/hls-service.js';
import { SegmentStore } from '../segmenter/store.js';
import { configuredBitrate, measuredBitrate, type RenditionView, renderAbrMultivariant } from './abr.js';
import { type RenditionConfig, renditionSchema } from './schema.js';

const rung = (r: Record<string, unknown>): RenditionConfig => renditionSchema.parse(r);

/** An HLS stream with MPEG-TS segments of the given sizes (bytes) and durations (s). */
function hlsWith(segments: Array<[number, number]>, height: number, codec = 'avc1.64001f'): HlsStream {
  const store = new SegmentStore(6);
  for (const [bytes, duration] of segments) {
    store.openSegment(new Date(0), false);
    store.closeSegment(duration, Buffer.alloc(bytes));
  }
  const tracks = {
    video: { codecString: codec, width: Math.round((height * 16) / 9 / 2) * 2, height },
    audio: { codecString: 'mp4a.40.2' },
  };
  return { store, segmenter: { tracks }, lowLatency: false, format: 'mpegts' } as unknown as HlsStream;
}

describe('ABR multivariant playlist', () => {
  it('measures peak and average bits per second over the stored segments', () => {
    const h = hlsWith(
      [
        [250_000, 2],
        [500_000, 2],
      ],
      720,
    );
    expect(measuredBitrate(h)).toEqual({ peak: 2_000_000, average: 1_500_000 });
  });

  it('takes the configured peak (maxrate + audio) when it is higher than measured', () => {
    expect(configuredBitrate(rung({ name: 'a', height: 360, videoBitrate: 400, audioBitrate: 64 }))).toEqual({
      peak: (600 + 64) * 1000,
      average: (400 + 64) * 1000,
    });
    expect(configuredBitrate(rung({ name: 'c', codec: 'copy' }))).toBeUndefined();
  });

  it('lists ready renditions, highest bandwidth first, with every attribute', () => {
    const views: RenditionView[] = [
      {
        config: rung({ name: 'low', height: 360, videoBitrate: 400 }),
        stream: 'cam_low',
        hls: hlsWith([[50_000, 2]], 360),
        frameRate: 30,
      },
      {
        config: rung({ name: 'src', codec: 'copy' }),
        stream: 'cam_src',
        hls: hlsWith([[600_000, 2]], 720),
        frameRate: 29.97,
      },
      {
        config: rung({ name: 'mid', height: 480, videoBitrate: 800 }),
        stream: 'cam_mid',
        hls: undefined,
        frameRate: 30,
      },
    ];
    const text = renderAbrMultivariant(views, () => 'key=abc');
    expect(text).toBe(
      [
        '#EXTM3U',
        '#EXT-X-INDEPENDENT-SEGMENTS',
        '#EXT-X-STREAM-INF:BANDWIDTH=2400000,AVERAGE-BANDWIDTH=2400000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=1280x720,FRAME-RATE=29.970',
        '../cam_src/index.m3u8?key=abc',
        '#EXT-X-STREAM-INF:BANDWIDTH=728000,AVERAGE-BANDWIDTH=200000,CODECS="avc1.64001f,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=30.000',
        '../cam_low/index.m3u8?key=abc',
        '',
      ].join('\n'),
    );
  });

  it('nothing ready: no playlist', () => {
    const v: RenditionView = {
      config: rung({ name: 'x', codec: 'copy' }),
      stream: 's_x',
      hls: hlsWith([], 720),
      frameRate: 30,
    };
    expect(renderAbrMultivariant([v], () => '')).toBeUndefined();
  });
});
