import { ApiService } from './api/api-service.js';
import type { Config } from './config/schema.js';
import { AccessService } from './control/access-service.js';
import { MediaGate } from './control/media-gate.js';
import { ConnectionLimiter } from './core/connection-limiter.js';
import type { EgressPolicy } from './core/egress.js';
import { ServerEvents } from './core/events.js';
import { StreamRegistry } from './core/registry.js';
import { SessionTable } from './core/sessions.js';
import { FailoverService } from './failover/failover-service.js';
import { Counters } from './observability/counters.js';
import type { Logger } from './observability/logger.js';
import { RelayService } from './relay/relay-service.js';
import { HlsService } from './segmenter/hls-service.js';
import { HttpServer } from './servers/http/http-server.js';
import { RtmpServer } from './servers/rtmp/rtmp-server.js';
import { ReloadableTlsContext } from './tls/tls-context.js';
import { TlsConfigError } from './tls/tls-material.js';
import { TranscodeService } from './transcode/transcode-service.js';

export interface ListeningPorts {
  rtmp?: number;
  http?: number;
  rtmps?: number;
  https?: number;
}

/**
 * The composition root: builds every component with its dependencies, starts listeners last and
 * closes in reverse. No globals: several servers can run in one process (the tests do).
 */
export class TidecastServer {
  readonly counters = new Counters();
  readonly sessions = new SessionTable();
  readonly events: ServerEvents;
  readonly access: AccessService;
  readonly registry: StreamRegistry;
  readonly failover: FailoverService;
  /** pushes (restream), pulls and edge apps */
  readonly relays: RelayService;
  readonly rtmp: RtmpServer | undefined;
  readonly http: HttpServer | undefined;
  readonly rtmps: RtmpServer | undefined;
  readonly https: HttpServer | undefined;
  readonly api: ApiService | undefined;
  /** the certificate for RTMPS and HTTPS, when either is enabled */
  tls: ReloadableTlsContext | undefined;
  readonly hls: HlsService | undefined;
  /** ABR ladders and exec hooks (ffmpeg children) */
  readonly transcode: TranscodeService;
  ports: ListeningPorts = {};

  constructor(
    readonly config: Config,
    readonly log: Logger,
  ) {
    this.registry = new StreamRegistry(
      { ...config.streams, maxPublishers: config.limits.maxPublishers },
      log.child({ component: 'registry' }),
      this.counters,
    );
    this.events = new ServerEvents((err) => log.error({ err }, 'event listener failed'));
    this.failover = new FailoverService(
      config,
      this.registry,
      this.events,
      log.child({ component: 'failover' }),
    );
    this.access = new AccessService(config, this.counters, log.child({ component: 'access' }));
    const policy: EgressPolicy = { ...config.egress, skipWindowMs: 60_000 };
    this.relays = new RelayService({
      config,
      registry: this.registry,
      counters: this.counters,
      log: log.child({ component: 'relay' }),
      policy,
    });
    const deps = {
      config,
      registry: this.registry,
      counters: this.counters,
      policy,
      sessions: this.sessions,
      events: this.events,
      access: this.access,
      gate: new MediaGate(this.access),
      failover: this.failover,
      limiter: new ConnectionLimiter({
        maxPerIp: config.limits.maxConnectionsPerIp,
        ratePerIp: config.limits.connectionRatePerIp,
        maxTotal: config.limits.maxConnections,
      }),
    };
    if (config.rtmp.enabled)
      this.rtmp = new RtmpServer({ ...deps, log: log.child({ component: 'rtmp' }) }, log);
    if (config.rtmps.enabled)
      this.rtmps = new RtmpServer(
        { ...deps, protocol: 'rtmps', log: log.child({ component: 'rtmps' }) },
        log,
      );
    if (config.hls.enabled) this.hls = new HlsService(config, this.registry, log.child({ component: 'hls' }));
    this.transcode = new TranscodeService({
      config,
      registry: this.registry,
      counters: this.counters,
      log: log.child({ component: 'transcode' }),
      hls: this.hls,
      rtmpPort: () => this.ports.rtmp,
    });
    if (config.api.enabled || config.metrics.enabled)
      this.api = new ApiService(this, log.child({ component: 'api' }));
    if (config.http.enabled) {
      this.http = new HttpServer(
        { ...deps, api: this.api, log: log.child({ component: 'http' }) },
        log,
        this.hls,
      );
    }
    if (config.https.enabled) {
      this.https = new HttpServer(
        { ...deps, api: this.api, log: log.child({ component: 'https' }) },
        log,
        this.hls,
      );
    }
  }

  /** RTMPS/HTTPS need a certificate: a missing or mismatched one refuses start-up (TlsConfigError). */
  private startTls(): ReloadableTlsContext | undefined {
    const c = this.config;
    if (!c.rtmps.enabled && !c.https.enabled) return undefined;
    if (!c.tls.certFile || !c.tls.keyFile) {
      throw new TlsConfigError('TLS_FILE_MISSING', '', 'rtmps/https need tls.certFile and tls.keyFile');
    }
    const log = this.log.child({ component: 'tls' });
    const tls = new ReloadableTlsContext(
      { certFile: c.tls.certFile, keyFile: c.tls.keyFile, caFile: c.tls.caFile },
      { watch: c.tls.watch, onLog: (level, obj, msg) => log[level](obj, msg) },
    );
    tls.start();
    return tls;
  }

  /** SIGHUP: re-read the certificate and the stream keys file; sessions stay up. */
  reload(): void {
    if (this.tls) this.tls.reload();
    try {
      const n = this.access.keys.reload();
      this.log.info({ keys: n }, 'stream keys reloaded');
    } catch (err) {
      this.log.error({ err }, 'stream keys reload failed; the old keys stay');
    }
  }

  async start(): Promise<ListeningPorts> {
    const { host } = this.config;
    this.tls = this.startTls();
    this.access.start(this.events);
    this.failover.start();
    this.api?.start();
    this.hls?.start();
    this.relays.start();
    await this.transcode.start();
    if (this.rtmp) this.ports.rtmp = await this.rtmp.start(host, this.config.rtmp.port);
    if (this.rtmps) this.ports.rtmps = await this.rtmps.start(host, this.config.rtmps.port, this.tls);
    if (this.http) this.ports.http = await this.http.start(host, this.config.http.port);
    if (this.https) this.ports.https = await this.https.start(host, this.config.https.port, this.tls);
    return this.ports;
  }

  /** Stop accepting, notify players, close publishers; resolves when listeners are closed. */
  async close(): Promise<void> {
    this.failover.close();
    this.registry.close();
    this.relays.close();
    this.hls?.close();
    this.api?.close();
    await Promise.all([
      this.rtmp?.close(),
      this.rtmps?.close(),
      this.http?.close(),
      this.https?.close(),
      this.transcode.close(),
    ]);
    await this.access.close();
    this.tls?.close();
  }
}
