import type { Config } from '../config/schema.js';
import type { StreamRegistry } from '../core/registry.js';
import type { Stream } from '../core/stream.js';
import type { EndReason, Subscriber } from '../core/types.js';
import type { Frame } from '../media/frame.js';
import type { Logger } from '../observability/logger.js';
import { ViewerLeases } from '../relay/viewer-lease.js';
import { DiskWriter } from './disk-writer.js';
import { renderStreamPlaylist } from './playlist-view.js';
import { Segmenter } from './segmenter.js';
import { SegmentStore } from './store.js';

export interface HlsStream {
  store: SegmentStore;
  segmenter: Segmenter;
  /** fMP4 with LL-HLS parts */
  lowLatency: boolean;
  format: 'fmp4' | 'mpegts';
}

/**
 * Adaptive bitrate for streams with renditions (set by the transcoder, src/transcode): the source's `index.m3u8`
 * answers a multivariant playlist and its `index.mpd` lists every rendition.
 */
export interface AbrPlaylists {
  /** app/name has a ladder: its index.m3u8 / index.mpd list the renditions */
  hasRenditions(app: string, name: string): boolean;
  /** for a rendition stream (`{source}_{rung}`), the ladder's other rendition streams (LL-HLS rendition reports) */
  siblings(app: string, name: string): string[] | undefined;
  /** app/name is a rendition that is not live yet; an on-demand ladder is started. true while it is coming */
  demand(app: string, name: string): boolean;
  /**
   * the multivariant playlist (variant URIs get `query(stream)`: credentials or a media token), or undefined when
   * no rendition is ready in time
   */
  multivariant(app: string, name: string, query: (stream: string) => string): Promise<string | undefined>;
  /** the MPD; `query(stream)` is added to the segment URIs of that stream (a media token) */
  mpd(
    app: string,
    name: string,
    timeUrl: string,
    query: (stream: string) => string,
  ): Promise<string | undefined>;
}

interface Entry extends HlsStream {
  sub: Subscriber;
  stream: Stream;
  freeTimer?: NodeJS.Timeout;
  disk?: DiskWriter;
  lastAccess: number;
}

/**
 * One segmenter per live stream, attached as a subscriber when the stream goes live (hls.enabled). When the
 * publisher leaves for good the playlist gets EXT-X-ENDLIST and is freed `hls.keepAfterEndMs` later.
 *
 * Streams pulled on demand (edge apps, static on-demand pulls) are wanted while HLS/DASH viewers request them:
 * their requests hold a viewer lease (src/relay/viewer-lease.ts), and a playlist/MPD request for such a stream
 * that is not live starts its pull and waits for the first segment (`demand`).
 */
export class HlsService {
  private readonly entries = new Map<string, Entry>();
  /** multivariant playlists and ABR MPDs, when transcoding is configured */
  abr: AbrPlaylists | undefined;
  /** only when some stream is pulled on demand */
  private readonly leases: ViewerLeases | undefined;
  /** requests waiting for a stream's segmenter to start (`demand`), called after each attach */
  private readonly attachWaiters = new Map<string, Set<() => void>>();

  constructor(
    private readonly config: Config,
    private readonly registry: StreamRegistry,
    private readonly log: Logger,
  ) {
    if (ViewerLeases.needed(config.relays)) {
      // a player reloads the playlist about once per target duration: three without a request and it is gone
      this.leases = new ViewerLeases(registry, config.relays, 3 * config.hls.targetDuration * 1000);
    }
  }

  private sweepTimer: NodeJS.Timeout | undefined;

  start(): void {
    this.registry.onAnnounce((stream) => {
      // a stream already being segmented keeps its segmenter across a reconnect, whatever startOn says; one that
      // HLS/DASH viewers are waiting for starts at once
      const wanted = this.entries.has(stream.path) || this.leases?.has(stream.app, stream.name);
      if (this.config.hls.startOn === 'publish' || wanted) this.attach(stream);
    });
    if (this.config.hls.startOn === 'request') {
      this.sweepTimer = setInterval(() => this.sweepIdle(), 1000);
      this.sweepTimer.unref();
    }
  }

  /** The HLS state of app/name if it is being segmented; starts nothing and counts as no access. */
  peek(app: string, name: string): HlsStream | undefined {
    return this.entries.get(`${app}/${name}`);
  }

  /** Streams being segmented and their segments in memory; read-only (starts nothing, touches no timer). */
  stats(): { streams: number; segments: number } {
    let segments = 0;
    for (const e of this.entries.values()) segments += e.store.segments.length;
    return { streams: this.entries.size, segments };
  }

  /**
   * The HLS/DASH state of a stream; with startOn 'request' the first request starts its segmenter. Every HLS/DASH
   * request comes here: it renews the stream's viewer lease.
   */
  get(app: string, name: string): HlsStream | undefined {
    this.leases?.touch(app, name);
    const path = `${app}/${name}`;
    let e = this.entries.get(path);
    if (!e && this.config.hls.startOn === 'request') {
      const stream = this.registry.get(app, name);
      if (stream?.live) {
        this.attach(stream);
        e = this.entries.get(path);
      }
    }
    if (e) e.lastAccess = Date.now();
    return e;
  }

  /**
   * A playlist/MPD request for a stream that is not live here. When it is pulled on demand, this is a play: its
   * viewer lease makes the pull start, and the request waits until `ready` (the first segment) or for at most the
   * first-media timeout plus two target durations; resolves with the stream's state then, or undefined. Returns
   * undefined at once when the stream is live or nothing would bring it (answer from `get` right away).
   */
  demand(
    app: string,
    name: string,
    ready: (h: HlsStream) => boolean,
    onAbort: (cb: () => void) => void,
  ): Promise<HlsStream | undefined> | undefined {
    if (!this.leases || this.registry.get(app, name)?.live) return undefined;
    const release = this.leases.hold(app, name);
    if (!release) return undefined;
    const path = `${app}/${name}`;
    const timeoutMs = this.config.relays.firstMediaTimeoutMs + 2 * this.config.hls.targetDuration * 1000;
    return new Promise((resolve) => {
      let done = false;
      let offStore: (() => void) | undefined;
      const waiters = this.attachWaiters.get(path) ?? new Set<() => void>();
      this.attachWaiters.set(path, waiters);
      const finish = (h: HlsStream | undefined) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        offStore?.();
        waiters.delete(watch);
        if (waiters.size === 0 && this.attachWaiters.get(path) === waiters) this.attachWaiters.delete(path);
        release();
        resolve(h);
      };
      const isReady = (e: Entry) => !e.store.ended && ready(e);
      // (re)attached: follow the current segmenter's store until it has what the request needs
      const watch = () => {
        offStore?.();
        offStore = undefined;
        const e = this.entries.get(path);
        if (!e) return;
        if (isReady(e)) return finish(e);
        offStore = e.store.onChange(() => {
          if (isReady(e)) finish(e);
        });
      };
      waiters.add(watch);
      const timer = setTimeout(() => finish(undefined), timeoutMs);
      onAbort(() => finish(undefined));
      watch();
    });
  }

  private sweepIdle(): void {
    const idleMs = this.config.hls.keepAfterEndMs;
    for (const [path, e] of this.entries) {
      if (!e.store.ended && Date.now() - e.lastAccess > idleMs) this.free(path);
    }
  }

  private attach(stream: Stream): void {
    const existing = this.entries.get(stream.path);
    if (existing && existing.stream === stream && stream.subscribers.has(existing.sub)) return; // reconnect: start() again
    // a publisher returning while the ended playlist is still kept: continue the same playlist (media sequence
    // numbers go on) after an EXT-X-DISCONTINUITY, so players polling it carry on
    const previous = existing?.store.ended && existing.store.segments.length > 0 ? existing.store : undefined;
    if (existing) this.free(stream.path, previous !== undefined);
    const h = this.config.hls;
    const lowLatency = h.segmentFormat === 'fmp4' && h.lowLatency;
    const store = previous ?? new SegmentStore(h.windowSegments);
    if (previous) previous.reopen();
    const segmenter = new Segmenter(
      {
        format: h.segmentFormat,
        targetDuration: h.targetDuration,
        partTarget: lowLatency ? h.partTarget : undefined,
        now: Date.now,
        dash: h.dash && h.segmentFormat === 'fmp4',
      },
      store,
    );
    let started = false;
    if (previous) segmenter.restart();
    const path = stream.path;
    const sub: Subscriber = {
      id: `hls-${path}`,
      protocol: 'hls',
      start: (init: readonly Frame[]) => {
        if (started) segmenter.restart();
        started = true;
        segmenter.write(init);
      },
      write: (frames: readonly Frame[]) => segmenter.write(frames),
      discontinuity: () => segmenter.restart(),
      end: (reason: EndReason) => {
        segmenter.end();
        this.log.debug({ path, reason }, 'hls ended');
        const e = this.entries.get(path);
        if (e && e.sub === sub) {
          e.freeTimer = setTimeout(() => this.free(path), this.config.hls.keepAfterEndMs);
          e.freeTimer.unref();
        }
      },
    };
    const entry: Entry = {
      store,
      segmenter,
      lowLatency,
      format: h.segmentFormat,
      sub,
      stream,
      lastAccess: Date.now(),
    };
    if (h.diskDir) {
      const ext = h.segmentFormat === 'mpegts' ? 'ts' : 'm4s';
      // the disk copy lists whole segments only (parts are served from memory)
      const render = () => renderStreamPlaylist({ ...entry, lowLatency: false }, this.config, false);
      entry.disk =
        previous && existing?.disk
          ? existing.disk
          : new DiskWriter(h.diskDir, stream.app, stream.name, store, ext, render, this.log);
    }
    this.entries.set(path, entry);
    this.registry.subscribe(stream.app, stream.name, sub);
    const waiters = this.attachWaiters.get(path);
    if (waiters) for (const w of [...waiters]) w();
  }

  private free(path: string, keepStore = false): void {
    const e = this.entries.get(path);
    if (!e) return;
    clearTimeout(e.freeTimer);
    this.entries.delete(path);
    if (e.stream.subscribers.has(e.sub)) this.registry.unsubscribe(e.stream, e.sub);
    if (!keepStore) {
      e.store.end();
      void e.disk?.close();
    }
  }

  close(): void {
    clearInterval(this.sweepTimer);
    this.leases?.close();
    for (const path of [...this.entries.keys()]) this.free(path);
  }
}
