import type { StreamRegistry } from '../core/registry.js';
import type { Stream } from '../core/stream.js';
import type { EndReason, Publisher, Subscriber } from '../core/types.js';
import { Frame } from '../media/frame.js';

export type SourceRole = 'primary' | 'backup';

export interface FailoverOptions {
  /** a live source that sends nothing for this long is stalled */
  stallMs: number;
  /** go back to the primary once it is live and sending again */
  switchBack: boolean;
}

interface Source {
  role: SourceRole;
  stream: Stream;
  sub: Subscriber;
  live: boolean;
  lastFrameAt: number;
}

/** Emits which source is live now (for events, logs, the API). */
export type SwitchListener = (active: SourceRole | undefined, reason: string) => void;

/**
 * Backup ingest for one public stream: the primary and backup publishers publish to internal streams
 * (`<name>@primary`, `<name>@backup`); this switch is the public stream's publisher. It forwards the active
 * source's frames, and moves to the other source at that source's next keyframe when the active one stalls or
 * ends (and back to the primary when it returns, with `switchBack`). Players stay attached throughout: the
 * public stream's timeline starts a new session at each switch, so output time stays monotonic, and its
 * subscribers are told of the discontinuity (HLS writes EXT-X-DISCONTINUITY).
 */
export class FailoverSwitch implements Publisher {
  readonly id: string;
  readonly protocol = 'failover';
  readonly remoteAddress = '';
  private readonly sources = new Map<SourceRole, Source>();
  private active: Source | undefined;
  /** the source to switch to at its next keyframe */
  private pending: Source | undefined;
  private stream: Stream | undefined;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly registry: StreamRegistry,
    readonly app: string,
    readonly name: string,
    private readonly opts: FailoverOptions,
    private readonly onSwitch: SwitchListener,
    private readonly onEmpty: () => void,
  ) {
    this.id = `failover-${app}/${name}`;
    this.timer = setInterval(() => this.check(), Math.max(50, Math.min(250, opts.stallMs / 4)));
    this.timer.unref();
  }

  get activeRole(): SourceRole | undefined {
    return this.active?.role;
  }

  /** A source stream went live: follow it. */
  addSource(role: SourceRole, source: Stream): void {
    const old = this.sources.get(role);
    if (old?.stream === source) return;
    if (old) this.registry.unsubscribe(old.stream, old.sub);
    const s: Source = { role, stream: source, live: true, lastFrameAt: Date.now(), sub: undefined as never };
    s.sub = {
      id: `${this.id}-${role}`,
      protocol: 'failover',
      start: (init) => {
        s.live = true;
        s.lastFrameAt = Date.now();
        if (this.active?.live) return;
        // nothing live yet: start at once from this source's cached GOP (its latest keyframe)
        const at = init.findIndex((f) => f.flags.keyframe && !f.flags.sequenceHeader);
        if (at >= 0) this.activate(s, init.slice(at));
        else this.pending = s;
      },
      write: (frames) => this.onFrames(s, frames),
      end: (reason) => this.onSourceEnd(s, reason),
    };
    this.sources.set(role, s);
    this.registry.subscribe(this.app, source.name, s.sub, 0);
  }

  private onFrames(s: Source, frames: readonly Frame[]): void {
    s.lastFrameAt = Date.now();
    if (s === this.active) return this.forward(frames);
    if (s !== this.pending) return;
    // switch at a keyframe (or at once for a source without video)
    const at = s.stream.gop.hasVideo
      ? frames.findIndex((f) => f.flags.keyframe && !f.flags.sequenceHeader)
      : 0;
    if (at < 0) return;
    this.activate(s, frames.slice(at));
  }

  private activate(s: Source, frames: readonly Frame[]): void {
    const previous = this.active;
    this.active = s;
    this.pending = undefined;
    let pub = this.stream;
    if (!pub) {
      const claim = this.registry.claim(this.app, this.name, this);
      if (!claim.ok) {
        this.active = undefined;
        return;
      }
      pub = claim.stream;
      this.stream = pub;
      this.registry.announce(pub);
    } else {
      // a new timeline session: the new source's first frame lands just after what players saw
      pub.timeline.newSession();
      pub.markDiscontinuity();
    }
    pub.info = { ...s.stream.info };
    pub.activeSource = s.role;
    const g = s.stream.gop;
    if (g.metadata) pub.setMetadata(this.rebase(pub, g.metadata));
    const head: Frame[] = [];
    if (g.videoHeader) head.push(g.videoHeader);
    if (g.audioHeader) head.push(g.audioHeader);
    this.forward([...head, ...frames]);
    this.onSwitch(s.role, switchReason(previous, s, this.opts.stallMs));
  }

  private rebase(pub: Stream, f: Frame): Frame {
    const kind = f.isVideo ? 'video' : f.isAudio ? 'audio' : 'data';
    return new Frame(f.type, pub.timeline.map(kind, f.timestamp % 2 ** 32), f.body, f.flags);
  }

  private forward(frames: readonly Frame[]): void {
    const pub = this.stream;
    if (!pub || frames.length === 0) return;
    const out = frames.map((f) => this.rebase(pub, f));
    pub.write(out);
  }

  private check(): void {
    const now = Date.now();
    const fresh = (s: Source | undefined) => !!s?.live && now - s.lastFrameAt < this.opts.stallMs;
    const primary = this.sources.get('primary');
    const backup = this.sources.get('backup');
    const active = this.active;
    if (!active) return;
    const other = active.role === 'primary' ? backup : primary;
    if (!fresh(active) && fresh(other)) {
      if (this.pending !== other) this.pending = other;
    } else if (active.role === 'backup' && this.opts.switchBack && fresh(primary)) {
      this.pending = primary;
    } else if (
      fresh(active) &&
      this.pending &&
      !(active.role === 'backup' && this.pending.role === 'primary')
    ) {
      this.pending = undefined; // the active source recovered before the other had a keyframe
    }
  }

  private onSourceEnd(s: Source, _reason: EndReason): void {
    s.live = false;
    this.registry.unsubscribe(s.stream, s.sub);
    if (this.sources.get(s.role) === s) this.sources.delete(s.role);
    if (this.pending === s) this.pending = undefined;
    const other = [...this.sources.values()].find((o) => o.live);
    if (this.active === s) {
      if (other) this.pending = other;
      else this.stop('sources-ended');
    }
    if (this.sources.size === 0) this.stop('sources-ended');
  }

  private stop(reason: string): void {
    const pub = this.stream;
    this.active = undefined;
    this.pending = undefined;
    this.stream = undefined;
    if (pub) {
      pub.activeSource = undefined;
      this.registry.release(pub, this);
    }
    this.onSwitch(undefined, reason);
    if (this.sources.size === 0) {
      clearInterval(this.timer);
      this.onEmpty();
    }
  }

  /** Publisher.kick (API, takeover, shutdown): drop both sources. */
  kick(reason: string): void {
    for (const s of [...this.sources.values()]) s.stream.publisher?.kick(reason);
    clearInterval(this.timer);
  }

  close(): void {
    clearInterval(this.timer);
    for (const s of this.sources.values()) this.registry.unsubscribe(s.stream, s.sub);
    this.sources.clear();
  }
}

/** Why the switch moved from `previous` to `next` (for the event and the log). */
function switchReason(previous: Source | undefined, next: Source, stallMs: number): string {
  if (!previous) return 'first-source';
  if (!previous.live) return `${previous.role}-ended`;
  const previousFresh = Date.now() - previous.lastFrameAt < stallMs;
  if (previousFresh && next.role === 'primary') return 'primary-returned';
  return `${previous.role}-stalled`;
}
