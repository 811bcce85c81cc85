import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Frame } from '../media/frame.js';
import { Counters } from '../observability/counters.js';
import { type RegistryOptions, StreamRegistry } from './registry.js';
import type { EndReason, Publisher, Subscriber } from './types.js';

class Sub implements Subscriber {
  readonly protocol = 'test';
  starts: Frame[][] = [];
  writes: Frame[][] = [];
  ends: EndReason[] = [];
  constructor(readonly id: string) {}
  start(init: readonly Frame[]): void {
    this.starts.push([...init]);
  }
  write(frames: readonly Frame[]): void {
    this.writes.push([...frames]);
  }
  end(reason: EndReason): void {
    this.ends.push(reason);
  }
}

class Pub implements Publisher {
  readonly protocol = 'test';
  readonly remoteAddress = '127.0.0.1';
  kicks: string[] = [];
  constructor(readonly id: string) {}
  kick(reason: string): void {
    this.kicks.push(reason);
  }
}

let counters: Counters;
function registry(opts: Partial<RegistryOptions> = {}): StreamRegistry {
  counters = new Counters();
  return new StreamRegistry(
    {
      duplicatePublisher: 'reject',
      playerWaitMs: 5000,
      reconnectWaitMs: 0,
      gopCacheMaxBytes: 1 << 20,
      audioHoldMs: 0,
      ...opts,
    },
    pino({ level: 'silent' }),
    counters,
  );
}

const key = (ts: number) => new Frame(9, ts, Buffer.alloc(50, 1), { keyframe: true, sequenceHeader: false });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('StreamRegistry', () => {
  it('claim: a second publisher on a live path is refused as busy (reject policy)', () => {
    const r = registry({ duplicatePublisher: 'reject' });
    const a = new Pub('a');
    const first = r.claim('live', 's', a);
    expect(first.ok).toBe(true);
    const second = r.claim('live', 's', new Pub('b'));
    expect(second).toEqual({ ok: false, reason: 'busy' });
    expect(a.kicks).toEqual([]);
    expect(r.get('live', 's')?.publisher).toBe(a);
    expect(counters.get('publish_rejected', 'busy')).toBe(1);
    // another name is independent
    expect(r.claim('live', 'other', new Pub('c')).ok).toBe(true);
  });

  it('claim: takeover kicks the old publisher with "takeover" and keeps the players', () => {
    const r = registry({ duplicatePublisher: 'takeover' });
    const a = new Pub('a');
    const res = r.claim('live', 's', a);
    if (!res.ok) throw new Error('claim failed');
    r.announce(res.stream);
    const sub = new Sub('p');
    r.subscribe('live', 's', sub);
    expect(sub.starts).toHaveLength(1);
    const b = new Pub('b');
    const res2 = r.claim('live', 's', b);
    expect(res2.ok).toBe(true);
    expect(a.kicks).toEqual(['takeover']);
    expect(r.get('live', 's')?.publisher).toBe(b);
    expect(sub.ends).toEqual([]);
    // the old publisher's late release is ignored
    r.release(res.stream, a);
    expect(sub.ends).toEqual([]);
    expect(r.get('live', 's')?.publisher).toBe(b);
    r.announce(res.stream);
    expect(sub.starts).toHaveLength(2);
  });

  it('a subscriber that arrives first waits, then starts with the init frames once announced', () => {
    const r = registry({ playerWaitMs: 5000 });
    const sub = new Sub('p');
    const s = r.subscribe('live', 's', sub);
    expect(s.live).toBe(false);
    expect(sub.starts).toEqual([]);
    vi.advanceTimersByTime(2000);
    const res = r.claim('live', 's', new Pub('a'));
    if (!res.ok) throw new Error('claim failed');
    expect(res.stream).toBe(s);
    const k = key(0);
    s.write([k]);
    expect(sub.writes).toEqual([[k]]);
    r.announce(s);
    expect(sub.starts).toHaveLength(1);
    expect(sub.starts[0][0]).toBe(k);
    vi.advanceTimersByTime(60_000); // the wait timer was cancelled by the claim
    expect(sub.ends).toEqual([]);
  });

  it('a subscriber that waits too long gets end("not-found") and the empty stream is deleted', () => {
    const r = registry({ playerWaitMs: 5000 });
    const sub = new Sub('p');
    r.subscribe('live', 's', sub);
    vi.advanceTimersByTime(4999);
    expect(sub.ends).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sub.ends).toEqual(['not-found']);
    expect(counters.get('play_rejected', 'not-found')).toBe(1);
    expect(r.get('live', 's')).toBeUndefined();
    expect(r.list()).toEqual([]);
  });

  it('the per-call wait overrides playerWaitMs', () => {
    const r = registry({ playerWaitMs: 5000 });
    const sub = new Sub('p');
    r.subscribe('live', 's', sub, 100);
    vi.advanceTimersByTime(100);
    expect(sub.ends).toEqual(['not-found']);
  });

  it('release with reconnectWaitMs 0 ends the players at once with "unpublished"', () => {
    const r = registry({ reconnectWaitMs: 0 });
    const a = new Pub('a');
    const res = r.claim('live', 's', a);
    if (!res.ok) throw new Error('claim failed');
    const subs = [new Sub('1'), new Sub('2')];
    for (const s of subs) r.subscribe('live', 's', s);
    r.release(res.stream, a);
    for (const s of subs) expect(s.ends).toEqual(['unpublished']);
    expect(r.get('live', 's')).toBeUndefined();
    expect(res.stream.gop.initFrames()).toEqual([]);
  });

  it('release with reconnectWaitMs > 0 keeps the players until the wait is over', () => {
    const r = registry({ reconnectWaitMs: 3000 });
    const a = new Pub('a');
    const res = r.claim('live', 's', a);
    if (!res.ok) throw new Error('claim failed');
    const sub = new Sub('p');
    r.subscribe('live', 's', sub);
    r.release(res.stream, a);
    expect(sub.ends).toEqual([]);
    expect(r.get('live', 's')).toBe(res.stream);
    vi.advanceTimersByTime(2999);
    expect(sub.ends).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(sub.ends).toEqual(['unpublished']);
    expect(r.get('live', 's')).toBeUndefined();
  });

  it('a publisher that claims again within the reconnect window gets the same players, started again', () => {
    const r = registry({ reconnectWaitMs: 3000 });
    const a = new Pub('a');
    const res = r.claim('live', 's', a);
    if (!res.ok) throw new Error('claim failed');
    r.announce(res.stream);
    const sub = new Sub('p');
    r.subscribe('live', 's', sub);
    expect(sub.starts).toHaveLength(1);
    r.release(res.stream, a);
    vi.advanceTimersByTime(1000);
    const b = new Pub('b');
    const res2 = r.claim('live', 's', b);
    if (!res2.ok) throw new Error('reclaim failed');
    expect(res2.stream).toBe(res.stream);
    r.announce(res2.stream);
    expect(sub.starts).toHaveLength(2);
    vi.advanceTimersByTime(10_000);
    expect(sub.ends).toEqual([]);
    expect(res2.stream.subscribers.has(sub)).toBe(true);
  });

  it('release without subscribers deletes the stream even with a reconnect window', () => {
    const r = registry({ reconnectWaitMs: 3000 });
    const a = new Pub('a');
    const res = r.claim('live', 's', a);
    if (!res.ok) throw new Error('claim failed');
    r.release(res.stream, a);
    expect(r.get('live', 's')).toBeUndefined();
  });

  it('unsubscribing the last player of a path without publisher deletes it', () => {
    const r = registry();
    const sub = new Sub('p');
    const s = r.subscribe('live', 's', sub);
    expect(r.get('live', 's')).toBe(s);
    r.unsubscribe(s, sub);
    expect(r.get('live', 's')).toBeUndefined();
    vi.advanceTimersByTime(60_000);
    expect(sub.ends).toEqual([]); // its wait timer is gone too
  });

  it('unsubscribing from a live path keeps it', () => {
    const r = registry();
    const res = r.claim('live', 's', new Pub('a'));
    if (!res.ok) throw new Error('claim failed');
    const sub = new Sub('p');
    r.subscribe('live', 's', sub);
    r.unsubscribe(res.stream, sub);
    expect(r.get('live', 's')).toBe(res.stream);
  });

  it('close() ends every player with "server-shutdown", kicks publishers and refuses new claims', () => {
    const r = registry({ reconnectWaitMs: 3000 });
    const a = new Pub('a');
    const res = r.claim('live', 'one', a);
    if (!res.ok) throw new Error('claim failed');
    const live = new Sub('live');
    const waiting = new Sub('waiting');
    r.subscribe('live', 'one', live);
    r.subscribe('live', 'two', waiting);
    // a third path in its reconnect window
    const b = new Pub('b');
    const res3 = r.claim('live', 'three', b);
    if (!res3.ok) throw new Error('claim failed');
    const lingering = new Sub('lingering');
    r.subscribe('live', 'three', lingering);
    r.release(res3.stream, b);
    r.close();
    expect(live.ends).toEqual(['server-shutdown']);
    expect(waiting.ends).toEqual(['server-shutdown']);
    expect(lingering.ends).toEqual(['server-shutdown']);
    expect(a.kicks).toEqual(['server-shutdown']);
    expect(r.list()).toEqual([]);
    vi.advanceTimersByTime(60_000);
    expect(waiting.ends).toEqual(['server-shutdown']); // no late not-found
    expect(lingering.ends).toEqual(['server-shutdown']); // no late unpublished
    expect(r.claim('live', 'one', new Pub('c'))).toEqual({ ok: false, reason: 'busy' });
  });
});
