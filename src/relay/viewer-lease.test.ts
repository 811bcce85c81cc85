import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { StreamRegistry } from '../core/registry.js';
import { Counters } from '../observability/counters.js';
import { relaysSchema } from './schema.js';
import { hasViewerLease, pulledOnDemand, ViewerLeases } from './viewer-lease.js';

const relays = relaysSchema.parse({
  edge: { edge: { origins: ['rtmp://origin/live'] } },
  pull: [
    { app: 'live', name: 'cam', urls: ['rtmp://cam/live/main'], mode: 'on-demand' },
    { app: 'edge', name: 'fixed', urls: ['rtmp://cam/live/main'], mode: 'always' },
  ],
});

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

describe('viewer leases (HLS/DASH viewers as players of on-demand pulls)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('knows which streams are pulled on demand', () => {
    expect(pulledOnDemand(relays, 'edge', 'any')).toBe(true);
    expect(pulledOnDemand(relays, 'edge', 'fixed')).toBe(false); // an `always` pull needs no viewers
    expect(pulledOnDemand(relays, 'edge', 'cam@backup')).toBe(false);
    expect(pulledOnDemand(relays, 'live', 'cam')).toBe(true);
    expect(pulledOnDemand(relays, 'live', 'other')).toBe(false);
    expect(ViewerLeases.needed(relays)).toBe(true);
    expect(ViewerLeases.needed(relaysSchema.parse({}))).toBe(false);
  });

  it('a waiting request opens a lease (demand), requests renew it, it expires after the TTL', () => {
    const r = registry();
    const demanded: string[] = [];
    r.onDemand((s) => demanded.push(s.path));
    const leases = new ViewerLeases(r, relays, 3000);
    expect(leases.hold('live', 'other')).toBeUndefined();
    expect(demanded).toEqual([]);

    const release = leases.hold('edge', 'a');
    expect(release).toBeDefined();
    expect(demanded).toEqual(['edge/a']);
    expect(hasViewerLease(r.get('edge', 'a'))).toBe(true);
    expect(r.playerCount('edge', 'a')).toBe(0); // not a player for limits
    // held while the request waits, however long
    vi.advanceTimersByTime(10_000);
    expect(leases.has('edge', 'a')).toBe(true);
    release?.();
    // renewed by requests
    for (let i = 0; i < 5; i++) {
      vi.advanceTimersByTime(2000);
      leases.touch('edge', 'a');
    }
    expect(leases.has('edge', 'a')).toBe(true);
    // a second waiting request does not demand again
    leases.hold('edge', 'a')?.();
    expect(demanded).toEqual(['edge/a']);
    vi.advanceTimersByTime(3200);
    expect(leases.has('edge', 'a')).toBe(false);
    expect(r.get('edge', 'a')).toBeUndefined();
    r.close();
  });

  it('requests for a live stream pulled on demand hold a lease; touch never demands a stream that is not live', () => {
    const r = registry();
    const demanded: string[] = [];
    r.onDemand((s) => demanded.push(s.path));
    const leases = new ViewerLeases(r, relays, 3000);
    leases.touch('edge', 'b');
    expect(leases.has('edge', 'b')).toBe(false);
    const claim = r.claim('edge', 'b', pub);
    if (!claim.ok) throw new Error('claim');
    r.announce(claim.stream);
    leases.touch('edge', 'b');
    expect(leases.has('edge', 'b')).toBe(true);
    expect(hasViewerLease(claim.stream)).toBe(true);
    expect(demanded).toEqual([]);
    // the stream ends: the lease ends with it
    r.release(claim.stream, pub);
    expect(leases.has('edge', 'b')).toBe(false);
    r.close();
  });
});
