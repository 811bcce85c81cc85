import type { EgressPolicy } from '../core/egress.js';
import type { StreamRegistry } from '../core/registry.js';
import type { Stream } from '../core/stream.js';
import type { EndReason } from '../core/types.js';
import type { Counters } from '../observability/counters.js';
import type { Logger } from '../observability/logger.js';
import { INPUT_OFFSET_MS, renditionFormat } from './ffmpeg-args.js';
import { TranscodeInput } from './input.js';
import { RenditionOutput } from './output.js';
import type { RenditionConfig, TranscodeSection } from './schema.js';
import { Supervisor, type SupervisorStats } from './supervisor.js';

export interface JobDeps {
  registry: StreamRegistry;
  counters: Counters;
  log: Logger;
  section: TranscodeSection;
  inputPolicy: EgressPolicy;
}

export interface JobSpec {
  kind: 'ladder' | 'exec';
  /** index of the exec hook (0 for the ladder) */
  index: number;
  app: string;
  name: string;
  command: string;
  /** argv for a new child (made at each start: the source frame rate may be known by then) */
  args: () => string[];
  /** feed the source as FLV on stdin */
  pipeInput: boolean;
  /** renditions published from fd 3, 4, ... (ladder only) */
  renditions: readonly RenditionConfig[];
  /** start on the first viewer instead of at once */
  onDemand: boolean;
}

export interface JobStats extends SupervisorStats {
  kind: 'ladder' | 'exec';
  index: number;
  app: string;
  stream: string;
  demanded: boolean;
  command: string;
  input: { bytesOut: number; droppedFrames: number; pendingBytes: number } | undefined;
  renditions: Array<{
    name: string;
    path: string;
    live: boolean;
    frames: number;
    bytesIn: number;
    skipped: number;
  }>;
}

/**
 * One supervised child for one source stream: the ABR ladder (input pipe -> ffmpeg -> one output pipe per
 * rendition, each published back into the hub) or an exec hook. It starts when the source is ready (sequence
 * headers and a keyframe) and, on demand, once someone asked for a rendition; a returning publisher restarts the
 * child; the end of the source stops it and ends the renditions.
 */
export class TranscodeJob {
  readonly input: TranscodeInput;
  readonly outputs: RenditionOutput[];
  readonly supervisor: Supervisor;
  private sourceReady = false;
  private demanded: boolean;
  private stopping: Promise<void> | undefined;

  constructor(
    readonly spec: JobSpec,
    private readonly source: Stream,
    private readonly deps: JobDeps,
    private readonly onFinished: (job: TranscodeJob) => void,
  ) {
    const label = `${spec.app}/${spec.name} ${spec.kind === 'ladder' ? 'ladder' : `exec#${spec.index}`}`;
    const log = deps.log.child({ transcode: label });
    this.demanded = !spec.onDemand;
    this.outputs = spec.renditions.map(
      (r) =>
        new RenditionOutput(
          spec.app,
          `${spec.name}_${r.name}`,
          deps.registry,
          log,
          INPUT_OFFSET_MS,
          () => {},
          renditionFormat(r),
        ),
    );
    const s = deps.section;
    this.supervisor = new Supervisor({
      name: label,
      command: spec.command,
      args: spec.args,
      outputs: this.outputs.length,
      restart: {
        initialDelayMs: s.restartDelayMs,
        maxDelayMs: s.maxRestartDelayMs,
        stableAfterMs: s.stableAfterMs,
      },
      stopTimeoutMs: s.stopTimeoutMs,
      stderrLines: s.stderrLines,
      log,
      onSpawn: (child, pipes) => {
        log.info({ pid: child.pid }, 'child started');
        if (spec.pipeInput && child.stdin) this.input.attach(child.stdin);
        else child.stdin?.end();
        this.outputs.forEach((o, i) => {
          if (pipes[i]) o.attach(pipes[i]);
        });
      },
      onExit: (e) => {
        this.input.detach();
        log.info(
          { code: e.code, signal: e.signal, uptimeMs: e.uptimeMs, requested: e.requested },
          'child exited',
        );
      },
    });
    this.input = new TranscodeInput(
      `transcode-${label}`,
      () => this.source,
      deps.inputPolicy,
      deps.counters,
      {
        onReady: (first) => this.onSourceReady(first),
        onEnd: (reason) => this.onSourceEnd(reason),
      },
    );
  }

  /** Subscribes to the source (live already: the input reports ready once the source has headers and a GOP). */
  attach(): void {
    this.deps.registry.subscribe(this.spec.app, this.spec.name, this.input, 0);
  }

  /** stop() was called (the source ended, or shutdown) */
  get isStopping(): boolean {
    return this.stopping !== undefined;
  }

  get isDemanded(): boolean {
    return this.demanded;
  }

  /** A viewer asked for a rendition (on-demand ladders start now, or as soon as the source is ready). */
  demand(): void {
    if (this.demanded || this.stopping) return;
    this.demanded = true;
    if (this.sourceReady) this.supervisor.start();
  }

  private onSourceReady(first: boolean): void {
    this.sourceReady = true;
    if (!this.demanded || this.stopping) return;
    if (first || !this.supervisor.running) this.supervisor.start();
    else this.supervisor.restartNow(); // a new publisher session: a fresh child with its headers
  }

  private onSourceEnd(reason: EndReason): void {
    this.deps.log.debug({ path: this.source.path, reason }, 'transcode source ended');
    void this.stop();
  }

  /** Stops the child (stdin closed, SIGTERM, SIGKILL) and ends the renditions; resolves once it has exited. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.source.subscribers.has(this.input)) this.deps.registry.unsubscribe(this.source, this.input);
      this.input.detach();
      await this.supervisor.stop();
      for (const o of this.outputs) o.release();
      this.onFinished(this);
    })();
    return this.stopping;
  }

  stats(): JobStats {
    return {
      ...this.supervisor.stats(),
      kind: this.spec.kind,
      index: this.spec.index,
      app: this.spec.app,
      stream: this.spec.name,
      demanded: this.demanded,
      command: this.spec.command,
      input: this.spec.pipeInput
        ? {
            bytesOut: this.input.bytesOut,
            droppedFrames: this.input.droppedFrames,
            pendingBytes: this.input.pendingBytes,
          }
        : undefined,
      renditions: this.outputs.map((o, i) => ({
        name: this.spec.renditions[i].name,
        path: o.path,
        live: o.live,
        frames: o.framesOut,
        bytesIn: o.bytesIn,
        skipped: o.skippedFrames,
      })),
    };
  }
}
