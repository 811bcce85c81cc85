import { describe, expect, it } from 'vitest';
import { relaysSchema } from './schema.js';
import { expandTemplate, originUrl, redactUrl, sourceKind } from './urls.js';

describe('relay URLs', () => {
  it('templates: {app} and {name}', () => {
    expect(expandTemplate('rtmp://h/{app}/{name}?k=1', 'live', 'cam')).toBe('rtmp://h/live/cam?k=1');
    expect(expandTemplate('rtmp://a.rtmp.youtube.com/live2/KEY', 'live', 'cam')).toBe(
      'rtmp://a.rtmp.youtube.com/live2/KEY',
    );
  });

  it('origin URLs: the name is appended before the query, .flv for HTTP-FLV', () => {
    expect(originUrl('rtmp://o1:1935/live', 'edge', 'cam')).toBe('rtmp://o1:1935/live/cam');
    expect(originUrl('rtmp://o1/live/?token=abc', 'edge', 'cam')).toBe('rtmp://o1/live/cam?token=abc');
    expect(originUrl('http://o1:8080/live', 'edge', 'cam')).toBe('http://o1:8080/live/cam.flv');
    expect(originUrl('https://o1/x/{name}.flv?t=1', 'edge', 'cam')).toBe('https://o1/x/cam.flv?t=1');
    expect(originUrl('rtmps://o1/{app}', 'edge', 'cam')).toBe('rtmps://o1/edge/cam');
  });

  it('source kinds', () => {
    expect(sourceKind('rtmp://h/a/b')).toBe('rtmp');
    expect(sourceKind('rtmps://h/a/b')).toBe('rtmp');
    expect(sourceKind('HTTPS://h/a/b.flv')).toBe('http-flv');
  });

  it('redaction: credentials, query values, and a stream key in the path', () => {
    expect(redactUrl('rtmp://u:p@h/live/cam?token=s3cret&x')).toBe('rtmp://***@h/live/cam?token=***&x');
    expect(redactUrl('rtmp://a.rtmp.youtube.com/live2/abcd-efgh', true)).toBe(
      'rtmp://a.rtmp.youtube.com/live2/***',
    );
    expect(redactUrl('rtmp://h/app', true)).toBe('rtmp://h/app');
  });

  it('the schema accepts the documented shapes and refuses bad URLs', () => {
    const ok = relaysSchema.parse({
      push: [{ app: 'live', url: 'rtmps://live-api-s.facebook.com:443/rtmp/KEY' }],
      pull: [{ app: 'live', name: 'cam', urls: ['rtmp://cam/live/x', 'http://cam2/live/x.flv'] }],
      edge: { edge: { origins: ['rtmp://o1/live', 'rtmp://o2/live'] } },
    });
    expect(ok.pull[0].mode).toBe('always');
    expect(ok.edge.edge.forwardPublish).toBe(false);
    expect(ok.backoffInitialMs).toBe(1000);
    expect(relaysSchema.safeParse({ push: [{ app: 'live', url: 'http://x/y' }] }).success).toBe(false);
    expect(relaysSchema.safeParse({ push: [{ app: 'live', url: 'not a url' }] }).success).toBe(false);
    expect(relaysSchema.safeParse({ pull: [{ app: 'live', name: 'a', urls: ['srt://x'] }] }).success).toBe(
      false,
    );
    expect(relaysSchema.safeParse({ push: [{ app: 'live', url: 'rtmp://h/x', extra: 1 }] }).success).toBe(
      false,
    );
  });
});
