import { describe, expect, it } from 'vitest';
import { Frame } from '../media/frame.js';
import { GopCache } from './gop-cache.js';

const body = (n: number, fill = 0xaa) => Buffer.alloc(n, fill);

const vHeader = (ts = 0, n = 40) => new Frame(9, ts, body(n, 1), { keyframe: true, sequenceHeader: true });
const aHeader = (ts = 0, n = 7) => new Frame(8, ts, body(n, 2), { keyframe: false, sequenceHeader: true });
const key = (ts: number, n = 100) => new Frame(9, ts, body(n, 3), { keyframe: true, sequenceHeader: false });
const inter = (ts: number, n = 50) => new Frame(9, ts, body(n, 4));
const audio = (ts: number, n = 20) => new Frame(8, ts, body(n, 5));
const meta = (ts = 0) => new Frame(18, ts, body(30, 6));

describe('GopCache', () => {
  it('initFrames: metadata, video header, audio header, then the GOP from the last keyframe', () => {
    const c = new GopCache(1 << 20);
    const ah = aHeader();
    const vh = vHeader();
    c.add(ah); // audio header arrives first on the wire
    c.add(vh);
    const k = key(0);
    const a1 = audio(10);
    const p1 = inter(40);
    const a2 = audio(33);
    for (const f of [k, a1, p1, a2]) c.add(f);
    const m = meta();
    c.setMetadata(m);
    const init = c.initFrames();
    expect(init).toHaveLength(7);
    expect(init[0]).toBe(m);
    expect(init[1]).toBe(vh);
    expect(init[2]).toBe(ah);
    expect(init.slice(3)).toEqual([k, a1, p1, a2]);
    expect(init[3]).toBe(k);
    expect(c.gopFrameCount).toBe(4);
    expect(c.bytes).toBe(100 + 20 + 50 + 20);
    expect(c.hasVideo).toBe(true);
    expect(c.hasAudio).toBe(true);
  });

  it('a new keyframe resets the GOP', () => {
    const c = new GopCache(1 << 20);
    c.add(vHeader());
    c.add(key(0));
    c.add(inter(40));
    c.add(audio(45));
    const k2 = key(80);
    c.add(k2);
    const p = inter(120);
    c.add(p);
    const init = c.initFrames();
    expect(init.slice(1)).toEqual([k2, p]);
    expect(init[1]).toBe(k2);
    expect(c.gopFrameCount).toBe(2);
    expect(c.bytes).toBe(150);
  });

  it('does not cache audio or inter frames before the first keyframe', () => {
    const c = new GopCache(1 << 20);
    const vh = vHeader();
    const ah = aHeader();
    c.add(vh);
    c.add(ah);
    c.add(audio(0));
    c.add(inter(10));
    c.add(audio(23));
    expect(c.gopFrameCount).toBe(0);
    expect(c.initFrames()).toEqual([vh, ah]);
    const k = key(40);
    c.add(k);
    c.add(audio(46));
    expect(c.initFrames()[2]).toBe(k);
    expect(c.gopFrameCount).toBe(2);
  });

  it('over the byte cap drops the GOP until the next keyframe, keeping the headers', () => {
    const c = new GopCache(200);
    const vh = vHeader();
    c.add(vh);
    c.add(key(0, 100));
    c.add(inter(40, 50));
    expect(c.gopFrameCount).toBe(2);
    c.add(inter(80, 60)); // 210 > 200
    expect(c.gopFrameCount).toBe(0);
    expect(c.bytes).toBe(0);
    c.add(inter(120, 10));
    c.add(audio(125, 10));
    expect(c.gopFrameCount).toBe(0);
    expect(c.initFrames()).toEqual([vh]);
    const k = key(160, 80);
    c.add(k);
    c.add(inter(200, 10));
    expect(c.gopFrameCount).toBe(2);
    expect(c.initFrames()[1]).toBe(k);
    expect(c.bytes).toBe(90);
  });

  it('exactly at the cap is still cached', () => {
    const c = new GopCache(150);
    c.add(key(0, 100));
    c.add(inter(40, 50));
    expect(c.gopFrameCount).toBe(2);
  });

  it('a short legacy AAC header (2-byte ASC: 4-byte body) is cached like any configuration', () => {
    const c = new GopCache(1 << 20);
    const h = aHeader(0, 4);
    c.add(h);
    expect(c.audioHeader).toBe(h);
    expect(c.initFrames()).toEqual([h]);
  });

  it('a newer configuration replaces the cached one', () => {
    const c = new GopCache(1 << 20);
    c.add(vHeader(0, 40));
    const newer = vHeader(20, 41);
    c.add(newer);
    expect(c.videoHeader).toBe(newer);
  });

  it('an audio-only stream caches headers but no GOP', () => {
    const c = new GopCache(1 << 20);
    const ah = aHeader();
    c.add(ah);
    for (let i = 0; i < 50; i++) c.add(audio(i * 23));
    expect(c.hasAudio).toBe(true);
    expect(c.hasVideo).toBe(false);
    expect(c.gopFrameCount).toBe(0);
    expect(c.initFrames()).toEqual([ah]);
  });

  it('ignores data frames (metadata comes through setMetadata)', () => {
    const c = new GopCache(1 << 20);
    c.add(key(0));
    c.add(meta(10));
    expect(c.gopFrameCount).toBe(1);
    expect(c.metadata).toBeUndefined();
    expect(c.hasAudio).toBe(false);
  });

  it('clear() forgets everything', () => {
    const c = new GopCache(1 << 20);
    c.setMetadata(meta());
    c.add(vHeader());
    c.add(aHeader());
    c.add(key(0));
    c.clear();
    expect(c.initFrames()).toEqual([]);
    expect(c.gopFrameCount).toBe(0);
    expect(c.bytes).toBe(0);
    expect(c.hasVideo).toBe(false);
    expect(c.hasAudio).toBe(false);
  });
});
