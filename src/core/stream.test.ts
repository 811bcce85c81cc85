import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Frame } from '../media/frame.js';
import { Stream } from './stream.js';
import type { Subscriber } from './types.js';

const video = (ts: number, key = false) =>
  new Frame(9, ts, Buffer.from([key ? 0x17 : 0x27, 1, 0, 0, 0, 9, 9]), {
    keyframe: key,
    sequenceHeader: false,
  });
const audio = (ts: number) => new Frame(8, ts, Buffer.from([0xaf, 1, 5, 5]));

class Recorder implements Subscriber {
  readonly protocol = 'test';
  writes: Frame[][] = [];
  started: Frame[][] = [];
  constructor(readonly id: string) {}
  start(init: readonly Frame[]): void {
    this.started.push([...init]);
  }
  write(frames: readonly Frame[]): void {
    this.writes.push([...frames]);
  }
  end(): void {}
}

describe('Stream audio hold (one write per video frame)', () => {
  let s: Stream;
  let r: Recorder;
  beforeEach(() => {
    vi.useFakeTimers();
    s = new Stream('live', 'x', 1 << 20, 40);
    s.publisher = { id: 'p', protocol: 'test', remoteAddress: '', kick: () => {} };
    r = new Recorder('a');
    s.attach(r);
    s.write([video(0, true)]);
    r.writes = [];
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('holds audio-only reads and delivers them with the next video frame in one write, in order', () => {
    const a1 = audio(10);
    const a2 = audio(31);
    const v = video(33);
    s.write([a1]);
    s.write([a2]);
    expect(r.writes).toEqual([]);
    s.write([v]);
    expect(r.writes).toHaveLength(1);
    expect(r.writes[0]).toEqual([a1, a2, v]);
  });

  it('releases held audio after audioHoldMs when no video comes', () => {
    const a1 = audio(10);
    s.write([a1]);
    vi.advanceTimersByTime(39);
    expect(r.writes).toEqual([]);
    vi.advanceTimersByTime(2);
    expect(r.writes).toEqual([[a1]]);
  });

  it('a subscriber attaching while audio is held gets it once (in its start), the others get it first', () => {
    const a1 = audio(10);
    s.write([a1]);
    const late = new Recorder('b');
    s.attach(late);
    expect(r.writes).toEqual([[a1]]);
    expect(late.started[0]).toContain(a1);
    s.write([video(33)]);
    expect(late.writes.flat()).not.toContain(a1);
  });

  it('metadata and the end of the stream flush held audio first', () => {
    const a1 = audio(10);
    s.write([a1]);
    const meta = new Frame(18, 11, Buffer.from([2, 0, 1, 0x61]));
    s.setMetadata(meta);
    expect(r.writes).toEqual([[a1], [meta]]);
    s.write([audio(20)]);
    s.endAll('unpublished');
    expect(r.writes).toHaveLength(3);
  });

  it('an audio-only stream is never held', () => {
    const s2 = new Stream('live', 'radio', 1 << 20, 40);
    const r2 = new Recorder('c');
    s2.attach(r2);
    const a1 = audio(0);
    s2.write([a1]);
    expect(r2.writes).toEqual([[a1]]);
  });

  it('audioHoldMs 0 never holds', () => {
    const s3 = new Stream('live', 'y', 1 << 20, 0);
    const r3 = new Recorder('d');
    s3.attach(r3);
    s3.write([video(0, true)]);
    const a1 = audio(10);
    s3.write([a1]);
    expect(r3.writes.at(-1)).toEqual([a1]);
  });
});
