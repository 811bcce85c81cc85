import type { Config } from '../config/schema.js';
import type { StreamRegistry } from '../core/registry.js';
import type { Stream } from '../core/stream.js';
import type { Counters } from '../observability/counters.js';
import type { Logger } from '../observability/logger.js';
import type { AbrPlaylists, HlsService } from '../segmenter/hls-service.js';
import { isValidStreamName } from '../servers/names.js';
import { isReady, type RenditionView, renderAbrMpd, renderAbrMultivariant } from './abr.js';
import { execArgs, execOutputPaths, ladderArgs, rtmpBase } from './ffmpeg-args.js';
import {
  type FfmpegLocation,
  type FfmpegVersion,
  hasFpsMode,
  locateFfmpeg,
  probeEncoders,
  probeFfmpegVersion,
} from './ffmpeg-locator.js';
import { type JobDeps, type JobStats, TranscodeJob } from './jobs.js';
import type { AppTranscodeConfig, RenditionConfig } from './schema.js';

export interface TranscodeDeps {
  config: Config;
  registry: StreamRegistry;
  counters: Counters;
  log: Logger;
  hls?: HlsService;
  /** this server's RTMP port, once listening (for `{rtmp}` and `input: rtmp`) */
  rtmpPort: () => number | undefined;
  /** replaces the ffmpeg lookup (tests) */
  locate?: () => FfmpegLocation | undefined;
}

export interface TranscodeStats {
  ffmpeg: { path: string; source: string; version: string | undefined } | undefined;
  jobs: JobStats[];
}

/** How long a multivariant/MPD request waits for renditions to be segmented (an on-demand ladder starting). */
const READY_WAIT_MS = 8_000;
const DEMAND_POLL_MS = 500;

interface Source {
  stream: Stream;
  cfg: AppTranscodeConfig;
  ladder: TranscodeJob | undefined;
  /** the ladder's renditions (those this ffmpeg can make) */
  renditions: RenditionConfig[];
  execs: TranscodeJob[];
}

/**
 * Transcoding for every app with `transcode` settings: per live source stream, one ffmpeg for the whole ABR ladder
 * (each rendition published back as `{stream}_{name}`) and one child per exec hook, each supervised. Also answers
 * the source's multivariant playlist and ABR MPD (HlsService.abr).
 */
export class TranscodeService implements AbrPlaylists {
  private readonly sources = new Map<string, Source>();
  /** every job not yet finished, including those of a replaced source still stopping */
  private readonly jobs = new Set<TranscodeJob>();
  private ffmpeg: FfmpegLocation | undefined;
  private version: FfmpegVersion | undefined;
  /** the encoders the ffmpeg found has (undefined: unknown, assume every one) */
  private encoders: Set<string> | undefined;
  private demandTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly jobDeps: JobDeps;
  private readonly log: Logger;
  private readonly warned = new Set<string>();

  constructor(private readonly d: TranscodeDeps) {
    this.log = d.log;
    const t = d.config.transcode;
    this.jobDeps = {
      registry: d.registry,
      counters: d.counters,
      log: d.log,
      section: t,
      inputPolicy: {
        maxQueueBytes: d.config.egress.maxQueueBytes,
        maxQueueMs: t.inputQueueMs,
        maxSkips: Number.MAX_SAFE_INTEGER,
        skipWindowMs: 60_000,
      },
    };
  }

  /** Apps with a ladder or exec hooks. */
  private appConfig(app: string): AppTranscodeConfig | undefined {
    const a = Object.hasOwn(this.d.config.apps, app) ? this.d.config.apps[app] : undefined;
    const t = a?.transcode;
    return t && (t.renditions.length > 0 || t.exec.length > 0) ? t : undefined;
  }

  private get enabled(): boolean {
    return Object.keys(this.d.config.apps).some((a) => this.appConfig(a) !== undefined);
  }

  /** Finds ffmpeg and its version, then transcodes every stream that goes live in an app with settings. */
  async start(): Promise<void> {
    if (!this.enabled) return;
    this.ffmpeg = (
      this.d.locate ?? (() => locateFfmpeg({ configPath: this.d.config.transcode.ffmpegPath }))
    )();
    for (const s of this.ffmpeg?.skipped ?? []) this.log.warn(s, 'ffmpeg candidate skipped');
    if (!this.ffmpeg) {
      this.log.error(
        'ffmpeg not found (transcode.ffmpegPath, FFMPEG_PATH, PATH, @ffmpeg-installer/ffmpeg): no transcoding',
      );
    } else {
      [this.version, this.encoders] = await Promise.all([
        probeFfmpegVersion(this.ffmpeg.path),
        probeEncoders(this.ffmpeg.path),
      ]);
      this.log.info(
        {
          ...this.ffmpeg,
          skipped: undefined,
          version: this.version?.version,
          libx264: this.encoders?.has('libx264'),
          libx265: this.encoders?.has('libx265'),
        },
        'ffmpeg found',
      );
    }
    if (this.d.hls) this.d.hls.abr = this;
    this.d.registry.onAnnounce((stream) => this.onAnnounce(stream));
    this.demandTimer = setInterval(() => this.pollDemand(), DEMAND_POLL_MS);
    this.demandTimer.unref();
  }

  /** Renditions of this app's ladder that the ffmpeg found can produce (it has the encoder they need). */
  private renditionsFor(app: string, cfg: AppTranscodeConfig): RenditionConfig[] {
    return cfg.renditions.filter((r) => {
      if (r.codec === 'copy') return true;
      const encoder = r.codec === 'hevc' ? 'libx265' : 'libx264';
      if (!this.encoders || this.encoders.has(encoder)) return true;
      const key = `${app}/${r.name}`;
      if (!this.warned.has(key)) {
        this.warned.add(key);
        this.log.error(
          { app, rendition: r.name, ffmpeg: this.version?.version, encoder },
          `this ffmpeg has no ${encoder}; rendition skipped`,
        );
      }
      return false;
    });
  }

  /** Streams that must not be transcoded again: our renditions, exec hook outputs, and `{x}_{rendition}` names. */
  private isDerived(stream: Stream, cfg: AppTranscodeConfig): boolean {
    if (stream.publisher?.protocol === 'transcode') return true;
    for (const src of this.sources.values()) {
      for (const job of src.execs) if (this.execOutputs(job).includes(stream.path)) return true;
    }
    return cfg.renditions.some((r) => stream.name.endsWith(`_${r.name}`));
  }

  private execOutputs(job: TranscodeJob): string[] {
    const port = this.d.rtmpPort();
    return port ? execOutputPaths(job.spec.args(), rtmpBase(this.d.config.host, port)) : [];
  }

  private onAnnounce(stream: Stream): void {
    if (this.closed) return;
    const cfg = this.appConfig(stream.app);
    if (!cfg || this.isDerived(stream, cfg)) return;
    // a returning publisher (reconnect window) keeps its jobs: their input restarts the child
    const existing = this.sources.get(stream.path);
    if (existing && jobsOf(existing).some((j) => !j.isStopping)) return;
    const src: Source = { stream, cfg, ladder: undefined, renditions: [], execs: [] };
    const ffmpeg = this.ffmpeg?.path;
    const finished = (job: TranscodeJob) => this.onJobFinished(src, job);
    src.renditions = this.renditionsFor(stream.app, cfg).filter((r) =>
      isValidStreamName(`${stream.name}_${r.name}`),
    );
    if (ffmpeg && src.renditions.length > 0) {
      src.ladder = new TranscodeJob(
        {
          kind: 'ladder',
          index: 0,
          app: stream.app,
          name: stream.name,
          command: ffmpeg,
          args: () =>
            ladderArgs({
              renditions: src.renditions,
              keyframes: cfg.keyframes,
              gopSeconds: cfg.gopSeconds,
              sourceFps: sourceFps(stream),
              fpsMode: hasFpsMode(this.version) ? 'fps_mode' : 'vsync',
            }),
          pipeInput: true,
          renditions: src.renditions,
          onDemand: cfg.startOn === 'demand',
        },
        stream,
        this.jobDeps,
        finished,
      );
    }
    cfg.exec.forEach((hook, i) => {
      const command = hook.command === 'ffmpeg' ? ffmpeg : hook.command;
      if (!command) return;
      const job: TranscodeJob = new TranscodeJob(
        {
          kind: 'exec',
          index: i,
          app: stream.app,
          name: stream.name,
          command,
          args: () => {
            const port = this.d.rtmpPort() ?? this.d.config.rtmp.port;
            return execArgs(hook, {
              app: stream.app,
              name: stream.name,
              rtmp: rtmpBase(this.d.config.host, port),
              port,
            });
          },
          pipeInput: hook.input === 'pipe',
          renditions: [],
          // an exec hook that publishes back here starts with its first viewer, like the ladder
          onDemand: cfg.startOn === 'demand' && this.hasLocalOutputs(hook.args),
        },
        stream,
        this.jobDeps,
        finished,
      );
      src.execs.push(job);
    });
    const jobs = jobsOf(src);
    if (jobs.length === 0) return;
    this.sources.set(stream.path, src);
    for (const j of jobs) {
      this.jobs.add(j);
      j.attach();
    }
  }

  private hasLocalOutputs(args: readonly string[]): boolean {
    return args.some((a) => a.includes('{rtmp}'));
  }

  private onJobFinished(src: Source, job: TranscodeJob): void {
    this.jobs.delete(job);
    if (src.ladder === job) src.ladder = undefined;
    src.execs = src.execs.filter((j) => j !== job);
    if (!src.ladder && src.execs.length === 0 && this.sources.get(src.stream.path) === src) {
      this.sources.delete(src.stream.path);
    }
  }

  /** On-demand: a player waiting on a rendition (or an exec hook's output) starts its source's child. */
  private pollDemand(): void {
    for (const src of this.sources.values()) {
      const jobs = [src.ladder, ...src.execs].filter((j): j is TranscodeJob => j?.isDemanded === false);
      if (jobs.length === 0) continue;
      for (const job of jobs) {
        const paths =
          job.spec.kind === 'ladder'
            ? src.renditions.map((r) => `${src.stream.app}/${src.stream.name}_${r.name}`)
            : this.execOutputs(job);
        const wanted = paths.some((p) => {
          const [app, name] = p.split('/');
          return (this.d.registry.get(app, name)?.subscribers.size ?? 0) > 0;
        });
        if (wanted) job.demand();
      }
    }
  }

  // ---- AbrPlaylists (HLS multivariant, DASH) ----

  hasRenditions(app: string, name: string): boolean {
    const src = this.sources.get(`${app}/${name}`);
    return src?.ladder !== undefined && src.renditions.length > 0;
  }

  siblings(app: string, name: string): string[] | undefined {
    const cut = name.lastIndexOf('_');
    if (cut <= 0) return undefined;
    const src = this.sources.get(`${app}/${name.slice(0, cut)}`);
    const rung = name.slice(cut + 1);
    if (!src?.ladder || !src.renditions.some((r) => r.name === rung)) return undefined;
    return src.renditions.filter((r) => r.name !== rung).map((r) => `${src.stream.name}_${r.name}`);
  }

  demand(app: string, name: string): boolean {
    const cut = name.lastIndexOf('_');
    if (cut <= 0) return false;
    const src = this.sources.get(`${app}/${name.slice(0, cut)}`);
    const rung = name.slice(cut + 1);
    if (!src?.ladder || !src.renditions.some((r) => r.name === rung)) return false;
    src.ladder.demand();
    return true;
  }

  private views(src: Source): RenditionView[] {
    const hls = this.d.hls;
    return src.renditions.map((r) => {
      const stream = `${src.stream.name}_${r.name}`;
      const live = this.d.registry.get(src.stream.app, stream);
      return {
        config: r,
        stream,
        hls: live?.live ? hls?.get(src.stream.app, stream) : undefined,
        // an encoded rendition's SPS timing is its 1 ms time base, not a frame rate: it has the source's frames
        frameRate:
          r.codec === 'copy' ? (live?.info.frameRate ?? sourceFps(src.stream)) : sourceFps(src.stream),
      };
    });
  }

  /** Waits (bounded) until every rendition is segmented: a player loads the multivariant playlist only once. */
  private async readyViews(
    app: string,
    name: string,
  ): Promise<{ src: Source; views: RenditionView[] } | undefined> {
    const src = this.sources.get(`${app}/${name}`);
    if (!src?.ladder) return undefined;
    src.ladder.demand();
    const until = Date.now() + READY_WAIT_MS;
    let views = this.views(src);
    while (!views.every(isReady) && Date.now() < until && !this.closed && src.ladder) {
      await new Promise((r) => setTimeout(r, 100).unref());
      views = this.views(src);
    }
    return { src, views };
  }

  async multivariant(
    app: string,
    name: string,
    query: (stream: string) => string,
  ): Promise<string | undefined> {
    const r = await this.readyViews(app, name);
    return r && renderAbrMultivariant(r.views, query);
  }

  async mpd(
    app: string,
    name: string,
    timeUrl: string,
    query: (stream: string) => string,
  ): Promise<string | undefined> {
    const r = await this.readyViews(app, name);
    const source = this.d.hls?.get(app, name);
    if (!r || !source) return undefined;
    return renderAbrMpd({
      renditions: r.views,
      source,
      sourceName: name,
      query,
      timeUrl,
      targetDuration: this.d.config.hls.targetDuration,
      now: new Date(),
    });
  }

  // ---- API ----

  stats(): TranscodeStats {
    const jobs: JobStats[] = [];
    for (const src of this.sources.values()) {
      if (src.ladder) jobs.push(src.ladder.stats());
      for (const j of src.execs) jobs.push(j.stats());
    }
    return {
      ffmpeg: this.ffmpeg && {
        path: this.ffmpeg.path,
        source: this.ffmpeg.source,
        version: this.version?.version,
      },
      jobs,
    };
  }

  /** Stops every child; resolves once all have exited. */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.demandTimer);
    await Promise.all([...this.jobs].map((j) => j.stop()));
    this.sources.clear();
  }
}

function jobsOf(src: Source): TranscodeJob[] {
  return src.ladder ? [src.ladder, ...src.execs] : [...src.execs];
}

/** Frames per second of the source: from its SPS, else measured over the cached GOP, else 30. */
export function sourceFps(stream: Stream): number {
  if (stream.info.frameRate && stream.info.frameRate > 0 && stream.info.frameRate <= 240) {
    return stream.info.frameRate;
  }
  const video = stream.gop.initFrames().filter((f) => f.isVideo && !f.flags.sequenceHeader);
  if (video.length >= 2) {
    const span = video[video.length - 1].timestamp - video[0].timestamp;
    if (span > 0) return Math.round(((video.length - 1) * 1000) / span);
  }
  return 30;
}
