import { describe, expect, it } from 'vitest';
import { Frame } from '../media/frame.js';
import { type ByteSink, Egress, type EgressPolicy } from './egress.js';

class FakeSink implements ByteSink {
  congested = false;
  batches: Buffer[][] = [];
  writeBatch(buffers: Buffer[]): void {
    this.batches.push(buffers);
  }
  get all(): Buffer[] {
    return this.batches.flat();
  }
}

const CHUNK = 4096;
const vh = (ts = 0) => new Frame(9, ts, Buffer.alloc(40, 1), { keyframe: true, sequenceHeader: true });
const ah = (ts = 0) => new Frame(8, ts, Buffer.alloc(7, 2), { keyframe: false, sequenceHeader: true });
const key = (ts: number, n = 1000) =>
  new Frame(9, ts, Buffer.alloc(n, 3), { keyframe: true, sequenceHeader: false });
const inter = (ts: number, n = 500) => new Frame(9, ts, Buffer.alloc(n, 4));
const audio = (ts: number, n = 100) => new Frame(8, ts, Buffer.alloc(n, 5));
const meta = (ts = 0) => new Frame(18, ts, Buffer.alloc(30, 6));

interface Harness {
  sink: FakeSink;
  egress: Egress;
  drops: Array<[string, number]>;
  slow: number;
  clock: { t: number };
}

function setup(policy: Partial<EgressPolicy> = {}, hasVideo = true, flv = false): Harness {
  const sink = new FakeSink();
  const h: Harness = { sink, egress: undefined as unknown as Egress, drops: [], slow: 0, clock: { t: 1000 } };
  h.egress = new Egress(
    sink,
    (f) => (flv ? f.flv() : f.rtmp(CHUNK)),
    { maxQueueBytes: 100_000, maxQueueMs: 5000, maxSkips: 2, skipWindowMs: 60_000, ...policy },
    {
      onDrop: (reason, n) => h.drops.push([reason, n]),
      onSlowConsumer: () => h.slow++,
    },
    () => hasVideo,
    () => h.clock.t,
  );
  return h;
}

function expectSameBuffers(got: Buffer[], want: Buffer[]): void {
  expect(got).toHaveLength(want.length);
  for (let i = 0; i < want.length; i++) expect(got[i]).toBe(want[i]);
}

describe('Egress', () => {
  it('writes straight through when not congested: one batch per push, the shared Buffer instances', () => {
    const { sink, egress } = setup();
    const frames = [key(0), audio(10), inter(40)];
    egress.push(frames);
    expect(sink.batches).toHaveLength(1);
    expectSameBuffers(
      sink.batches[0],
      frames.map((f) => f.rtmp(CHUNK)),
    );
    egress.push([audio(33)]);
    expect(sink.batches).toHaveLength(2);
    expect(egress.pendingBytes).toBe(0);
    const total = [...frames, audio(33)].reduce((n, f) => n + f.rtmp(CHUNK).length, 0);
    expect(egress.bytesOut).toBe(total);
  });

  it('uses the frame’s cached FLV tag for FLV players', () => {
    const { sink, egress } = setup({}, true, true);
    const frames = [meta(), vh(), key(0)];
    egress.push(frames);
    expectSameBuffers(
      sink.batches[0],
      frames.map((f) => f.flv()),
    );
  });

  it('queues while congested, in order with pushRaw bytes, and flushes on flush()', () => {
    const { sink, egress } = setup();
    sink.congested = true;
    const raw = Buffer.from('status');
    const a = [key(0), audio(10)];
    const b = [inter(40)];
    egress.pushRaw(raw);
    egress.push(a);
    egress.push(b);
    expect(sink.batches).toHaveLength(0);
    const want = [raw, ...[...a, ...b].map((f) => f.rtmp(CHUNK))];
    expect(egress.pendingBytes).toBe(want.reduce((n, x) => n + x.length, 0));
    egress.flush();
    expect(sink.batches).toHaveLength(0); // still congested
    sink.congested = false;
    egress.flush();
    expect(sink.batches).toHaveLength(1);
    expectSameBuffers(sink.batches[0], want);
    expect(egress.pendingBytes).toBe(0);
    egress.flush();
    expect(sink.batches).toHaveLength(1); // nothing more to write
  });

  it('over maxQueueBytes: drops queued media, keeps raw bytes and configuration, waits for a keyframe', () => {
    const h = setup({ maxQueueBytes: 3000 });
    const { sink, egress } = h;
    sink.congested = true;
    const raw = Buffer.from('onStatus Play.Start');
    const m = meta();
    const v = vh();
    const a = ah();
    egress.pushRaw(raw);
    egress.push([m, v, a, key(0, 1000), audio(10, 100)]);
    expect(h.drops).toEqual([]);
    egress.push([inter(40, 1000), inter(80, 1000)]); // > 3000 bytes
    expect(h.drops).toEqual([['queue-bytes', 4]]);
    expect(egress.droppedFrames).toBe(4);
    // until the next video keyframe, media is skipped frame by frame; configuration still passes
    const v2 = vh(90);
    egress.push([audio(100), inter(120), v2, meta(121)]);
    expect(h.drops.slice(1)).toEqual([
      ['wait-keyframe', 1],
      ['wait-keyframe', 1],
    ]);
    expect(egress.droppedFrames).toBe(6);
    const k = key(160, 200);
    const after = audio(170);
    egress.push([k, after]);
    expect(h.drops).toHaveLength(3);
    sink.congested = false;
    egress.flush();
    const written = sink.all;
    expect(written[0]).toBe(raw);
    expect(written[1]).toBe(m.rtmp(CHUNK));
    expect(written[2]).toBe(v.rtmp(CHUNK));
    expect(written[3]).toBe(a.rtmp(CHUNK));
    expect(written[4]).toBe(v2.rtmp(CHUNK));
    expect(written[6]).toBe(k.rtmp(CHUNK));
    expect(written[7]).toBe(after.rtmp(CHUNK));
    expect(written).toHaveLength(8);
    expect(h.slow).toBe(0);
  });

  it('over maxQueueMs: drops with reason queue-duration', () => {
    const h = setup({ maxQueueMs: 1000 });
    h.sink.congested = true;
    h.egress.push([key(0, 10), audio(500, 10)]);
    expect(h.drops).toEqual([]);
    h.egress.push([inter(1001, 10)]);
    expect(h.drops).toEqual([['queue-duration', 3]]);
    expect(h.egress.pendingBytes).toBe(0);
  });

  it('configuration frames do not count in the queue duration', () => {
    const h = setup({ maxQueueMs: 1000 });
    h.sink.congested = true;
    h.egress.push([meta(0), vh(0), key(5000, 10), inter(5900, 10)]);
    expect(h.drops).toEqual([]);
  });

  it('more than maxSkips overflows within skipWindowMs: onSlowConsumer, then nothing more is written', () => {
    const h = setup({ maxQueueBytes: 1000, maxSkips: 2, skipWindowMs: 10_000 });
    h.sink.congested = true;
    for (let i = 0; i < 3; i++) {
      h.clock.t += 1000;
      h.egress.push([key(i * 100, 1500)]); // every keyframe overflows by itself
      expect(h.slow).toBe(i < 2 ? 0 : 1);
    }
    expect(h.drops.filter(([r]) => r === 'queue-bytes')).toHaveLength(3);
    expect(h.egress.closed).toBe(true);
    h.sink.congested = false;
    h.egress.push([key(1000, 10)]);
    h.egress.pushRaw(Buffer.from('x'));
    h.egress.flush();
    expect(h.sink.batches).toHaveLength(0);
    expect(h.slow).toBe(1);
  });

  it('overflows spread wider than skipWindowMs are tolerated', () => {
    const h = setup({ maxQueueBytes: 1000, maxSkips: 2, skipWindowMs: 10_000 });
    h.sink.congested = true;
    for (let i = 0; i < 6; i++) {
      h.clock.t += 6_000; // at most two overflows in any 10 s window
      h.egress.push([key(i * 100, 1500)]);
    }
    expect(h.drops.filter(([r]) => r === 'queue-bytes')).toHaveLength(6);
    expect(h.slow).toBe(0);
    expect(h.egress.closed).toBe(false);
  });

  it('an audio-only stream resumes at once after an overflow', () => {
    const h = setup({ maxQueueBytes: 1000 }, false);
    h.sink.congested = true;
    h.egress.push([ah(), audio(0, 600), audio(23, 600)]);
    expect(h.drops).toEqual([['queue-bytes', 2]]);
    const next = audio(46, 100);
    h.egress.push([next]);
    expect(h.drops).toHaveLength(1); // no wait-keyframe drops
    h.sink.congested = false;
    h.egress.flush();
    expect(h.sink.all.at(-1)).toBe(next.rtmp(CHUNK));
  });

  it('resumeAtKeyframe() skips media until the next keyframe', () => {
    const h = setup();
    h.egress.resumeAtKeyframe();
    h.egress.push([inter(0), audio(5)]);
    expect(h.drops).toEqual([
      ['wait-keyframe', 1],
      ['wait-keyframe', 1],
    ]);
    expect(h.sink.batches).toHaveLength(0);
    const k = key(40);
    h.egress.push([k]);
    expectSameBuffers(h.sink.batches[0], [k.rtmp(CHUNK)]);
  });

  it('a frame the encoder declines is not written', () => {
    const sink = new FakeSink();
    const drops: string[] = [];
    const egress = new Egress(
      sink,
      (f) => (f.isAudio ? undefined : f.rtmp(CHUNK)),
      { maxQueueBytes: 100_000, maxQueueMs: 5000, maxSkips: 2, skipWindowMs: 60_000 },
      { onDrop: (r) => drops.push(r), onSlowConsumer: () => {} },
      () => true,
    );
    const k = key(0);
    egress.push([audio(0), k]);
    expectSameBuffers(sink.batches[0], [k.rtmp(CHUNK)]);
    expect(drops).toEqual([]);
  });

  // Regression test for a bug fixed in src (described below).
  it('an uncongested player is not dropped when one push (the GOP init burst) spans > maxQueueMs', () => {
    // BUG (egress.ts push): the byte/duration bound is checked on the queue *before* flush(), even when
    // the sink is not congested. A new player's start(init) pushes the cached GOP in one call; with a
    // keyframe interval longer than egress.maxQueueMs (default 5 s; OBS/x264 auto keyint is ~8 s) or a
    // GOP larger than maxQueueBytes (gopCacheMaxBytes defaults to 32 MiB vs 8 MiB), the whole GOP is
    // dropped, counted as a skip towards onSlowConsumer, and the player waits for the next keyframe.
    const h = setup({ maxQueueMs: 5000 });
    const gop = [key(0, 100)];
    for (let t = 40; t <= 8000; t += 40) gop.push(inter(t, 100));
    h.egress.push([vh(), ...gop]);
    expect(h.drops).toEqual([]);
    expect(h.sink.all).toHaveLength(gop.length + 1);
  });
});
