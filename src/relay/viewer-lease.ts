import { isInternalStreamName, type StreamRegistry } from '../core/registry.js';
import type { Stream } from '../core/stream.js';
import type { Subscriber } from '../core/types.js';
import type { RelaysConfig } from './schema.js';

/** The protocol of a viewer lease: the HLS/DASH viewers of a stream, as one subscriber. */
export const VIEWER_LEASE_PROTOCOL = 'hls-viewer';

/** app/name is pulled while someone watches it: an edge app, or a static pull with mode `on-demand`. */
export function pulledOnDemand(relays: RelaysConfig, app: string, name: string): boolean {
  if (isInternalStreamName(name)) return false;
  const stat = relays.pull.find((p) => p.app === app && p.name === name);
  if (stat) return stat.mode === 'on-demand';
  return Object.hasOwn(relays.edge, app);
}

/** The stream has HLS/DASH viewers (a lease): an on-demand pull is wanted as if it had a player. */
export function hasViewerLease(stream: Stream | undefined): boolean {
  if (stream) for (const sub of stream.subscribers) if (sub.protocol === VIEWER_LEASE_PROTOCOL) return true;
  return false;
}

interface Lease {
  stream: Stream;
  sub: Subscriber;
  lastSeen: number;
  /** requests waiting for the stream: the lease does not expire under them */
  holds: number;
  timer?: NodeJS.Timeout;
}

/**
 * Viewer leases: HLS and DASH players make requests instead of holding a connection, so for streams pulled on
 * demand their requests are turned into one lightweight subscriber per stream. Subscribing it to a path that is
 * not live is a play request like any other (the registry's onDemand starts the pull); each HLS/DASH request
 * renews it, and once none has come for `ttlMs` (and no request is waiting) it unsubscribes, after which the pull
 * ends like one whose last player left (after `relays.idleGraceMs`). Other streams get no lease.
 */
export class ViewerLeases {
  private readonly leases = new Map<string, Lease>();

  constructor(
    private readonly registry: StreamRegistry,
    private readonly relays: RelaysConfig,
    /** how long the viewers of a stream count as present after their last request */
    private readonly ttlMs: number,
  ) {}

  /** Some stream is pulled on demand here; without any, no lease is ever made. */
  static needed(relays: RelaysConfig): boolean {
    return Object.keys(relays.edge).length > 0 || relays.pull.some((p) => p.mode === 'on-demand');
  }

  has(app: string, name: string): boolean {
    return this.leases.has(`${app}/${name}`);
  }

  /**
   * An HLS/DASH request for app/name: renews its lease. A live stream pulled on demand gets one if it has none
   * (its viewers keep the pull that another player started); a stream that is not live does not (only a playlist
   * request creates demand: `hold`).
   */
  touch(app: string, name: string): void {
    const lease = this.leases.get(`${app}/${name}`);
    if (lease) lease.lastSeen = Date.now();
    else if (this.registry.get(app, name)?.live) this.open(app, name);
  }

  /**
   * A playlist/MPD request that waits for app/name: opens its lease when the stream is pulled on demand (which
   * starts the pull when it is not live) and keeps it while the request waits. Returns the release to call when
   * the request is answered, or undefined when app/name is not pulled on demand.
   */
  hold(app: string, name: string): (() => void) | undefined {
    const lease = this.leases.get(`${app}/${name}`) ?? this.open(app, name);
    if (!lease) return undefined;
    lease.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      lease.holds--;
      lease.lastSeen = Date.now();
    };
  }

  private open(app: string, name: string): Lease | undefined {
    if (!pulledOnDemand(this.relays, app, name)) return undefined;
    const path = `${app}/${name}`;
    const sub: Subscriber = {
      id: `hls-viewer-${path}`,
      protocol: VIEWER_LEASE_PROTOCOL,
      start: () => {},
      write: () => {},
      // the stream ended for good, or never came within streams.playerWaitMs: the next request opens a new one
      end: () => this.drop(path, sub),
    };
    // subscribing to a path that is not live fires onDemand: the relay service starts the pull
    const stream = this.registry.subscribe(app, name, sub);
    const lease: Lease = { stream, sub, lastSeen: Date.now(), holds: 0 };
    this.leases.set(path, lease);
    this.schedule(path, lease, this.ttlMs);
    return lease;
  }

  private schedule(path: string, lease: Lease, ms: number): void {
    lease.timer = setTimeout(() => this.expire(path, lease), ms);
    lease.timer.unref();
  }

  private expire(path: string, lease: Lease): void {
    if (this.leases.get(path) !== lease) return;
    const left = lease.lastSeen + this.ttlMs - Date.now();
    if (lease.holds > 0 || left > 0) return this.schedule(path, lease, Math.max(left, 100));
    this.drop(path, lease.sub);
    if (lease.stream.subscribers.has(lease.sub)) this.registry.unsubscribe(lease.stream, lease.sub);
  }

  private drop(path: string, sub: Subscriber): void {
    const lease = this.leases.get(path);
    if (lease?.sub !== sub) return;
    clearTimeout(lease.timer);
    this.leases.delete(path);
  }

  close(): void {
    for (const [path, lease] of [...this.leases]) {
      this.drop(path, lease.sub);
      if (lease.stream.subscribers.has(lease.sub)) this.registry.unsubscribe(lease.stream, lease.sub);
    }
  }
}
