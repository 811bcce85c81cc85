import type { Config } from './config/schema.js';
import type { EgressPolicy } from './core/egress.js';
import { StreamRegistry } from './core/registry.js';
import { Counters } from './observability/counters.js';
import type { Logger } from './observability/logger.js';
import { HlsService } from './segmenter/hls-service.js';
import { HttpServer } from './servers/http/http-server.js';
import { RtmpServer } from './servers/rtmp/rtmp-server.js';

export interface ListeningPorts {
  rtmp?: number;
  http?: number;
}

/**
 * The composition root: builds every component with its dependencies, starts listeners last and
 * closes in reverse. No globals: several servers can run in one process (the tests do).
 */
export class TidecastServer {
  readonly counters = new Counters();
  readonly registry: StreamRegistry;
  readonly rtmp: RtmpServer | undefined;
  readonly http: HttpServer | undefined;
  readonly hls: HlsService | undefined;
  ports: ListeningPorts = {};

  constructor(
    readonly config: Config,
    readonly log: Logger,
  ) {
    this.registry = new StreamRegistry(config.streams, log.child({ component: 'registry' }), this.counters);
    const policy: EgressPolicy = { ...config.egress, skipWindowMs: 60_000 };
    const deps = { config, registry: this.registry, counters: this.counters, policy };
    if (config.rtmp.enabled)
      this.rtmp = new RtmpServer({ ...deps, log: log.child({ component: 'rtmp' }) }, log);
    if (config.hls.enabled) this.hls = new HlsService(config, this.registry, log.child({ component: 'hls' }));
    if (config.http.enabled) {
      this.http = new HttpServer({ ...deps, log: log.child({ component: 'http' }) }, log, this.hls);
    }
  }

  async start(): Promise<ListeningPorts> {
    const { host } = this.config;
    this.hls?.start();
    if (this.rtmp) this.ports.rtmp = await this.rtmp.start(host, this.config.rtmp.port);
    if (this.http) this.ports.http = await this.http.start(host, this.config.http.port);
    return this.ports;
  }

  /** Stop accepting, notify players, close publishers; resolves when listeners are closed. */
  async close(): Promise<void> {
    this.registry.close();
    this.hls?.close();
    await Promise.all([this.rtmp?.close(), this.http?.close()]);
  }
}
