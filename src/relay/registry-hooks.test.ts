import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { StreamRegistry } from '../core/registry.js';
import type { Stream } from '../core/stream.js';
import type { EndReason, Subscriber } from '../core/types.js';
import type { Frame } from '../media/frame.js';
import { Counters } from '../observability/counters.js';

/** The registry hooks edge mode relies on: a subscriber on a path that is not live, the last player leaving. */

class Sub implements Subscriber {
  ends: EndReason[] = [];
  constructor(
    readonly id: string,
    readonly protocol = 'rtmp',
  ) {}
  start(_init: readonly Frame[]): void {}
  write(_frames: readonly Frame[]): void {}
  end(reason: EndReason): void {
    this.ends.push(reason);
  }
}

function registry(): StreamRegistry {
  return new StreamRegistry(
    {
      duplicatePublisher: 'reject',
      playerWaitMs: 60_000,
      reconnectWaitMs: 0,
      gopCacheMaxBytes: 1 << 20,
      audioHoldMs: 0,
    },
    pino({ level: 'silent' }),
    new Counters(),
  );
}

const pub = { id: 'p', protocol: 'test', remoteAddress: '', kick: () => {} };

describe('registry hooks for on-demand pulls', () => {
  it('onDemand fires for each subscriber of a path that is not live, not for a live one', () => {
    const r = registry();
    const demanded: string[] = [];
    r.onDemand((s: Stream) => demanded.push(s.path));
    r.subscribe('edge', 'a', new Sub('1'));
    r.subscribe('edge', 'a', new Sub('2'));
    expect(demanded).toEqual(['edge/a', 'edge/a']);
    const claim = r.claim('edge', 'b', pub);
    if (claim.ok) r.announce(claim.stream);
    r.subscribe('edge', 'b', new Sub('3'));
    expect(demanded).toEqual(['edge/a', 'edge/a']);
    r.close();
  });

  it('onIdle fires when the last player leaves; other subscribers (segmenters, relays) do not count', () => {
    const r = registry();
    const idle: string[] = [];
    r.onIdle((s) => idle.push(s.path));
    const claim = r.claim('edge', 'a', pub);
    if (!claim.ok) throw new Error('claim');
    r.announce(claim.stream);
    const p1 = new Sub('1');
    const p2 = new Sub('2', 'http-flv');
    const seg = new Sub('hls', 'hls');
    const s = r.subscribe('edge', 'a', p1);
    r.subscribe('edge', 'a', p2);
    r.subscribe('edge', 'a', seg);
    r.unsubscribe(s, p1);
    expect(idle).toEqual([]);
    r.unsubscribe(s, p2);
    expect(idle).toEqual(['edge/a']);
    r.unsubscribe(s, seg); // not a player: no second notification
    expect(idle).toEqual(['edge/a']);
    r.close();
  });
});
