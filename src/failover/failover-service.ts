import type { Config } from '../config/schema.js';
import type { ServerEvents } from '../core/events.js';
import type { StreamRegistry } from '../core/registry.js';
import type { Logger } from '../observability/logger.js';
import { FailoverSwitch, type SourceRole } from './failover-switch.js';

const SOURCE_NAME = /^(.+)@(primary|backup)$/;

/**
 * Backup ingest for apps with `backup.enabled`: routes each publisher to an internal source stream by its role
 * (`route()`), and keeps one FailoverSwitch per public stream that has a live source.
 */
export class FailoverService {
  private readonly switches = new Map<string, FailoverSwitch>();

  constructor(
    private readonly config: Config,
    private readonly registry: StreamRegistry,
    private readonly events: ServerEvents,
    private readonly log: Logger,
  ) {}

  start(): void {
    this.registry.onAnnounceInternal((stream) => {
      const m = SOURCE_NAME.exec(stream.name);
      const cfg = this.config.apps[stream.app]?.backup;
      if (!m || !cfg?.enabled) return;
      const [, name, role] = m;
      const path = `${stream.app}/${name}`;
      let sw = this.switches.get(path);
      if (!sw) {
        sw = new FailoverSwitch(
          this.registry,
          stream.app,
          name,
          { stallMs: cfg.stallMs, switchBack: cfg.switchBack },
          (active, reason) => this.switched(stream.app, name, active, reason),
          () => this.switches.delete(path),
        );
        this.switches.set(path, sw);
      }
      sw.addSource(role as SourceRole, stream);
    });
  }

  /** The stream a publisher of app/name publishes to: `<name>@primary` or `<name>@backup` in backup apps. */
  route(app: string, name: string, query: string): string {
    const cfg = this.config.apps[app]?.backup;
    if (!cfg?.enabled) return name;
    const role = new URLSearchParams(query).get(cfg.param) === 'backup' ? 'backup' : 'primary';
    return `${name}@${role}`;
  }

  /** which source feeds app/name now */
  activeSource(app: string, name: string): SourceRole | undefined {
    return this.switches.get(`${app}/${name}`)?.activeRole;
  }

  private switched(app: string, name: string, active: SourceRole | undefined, reason: string): void {
    this.log.info(
      { path: `${app}/${name}`, active: active ?? null, reason },
      'backup ingest: source switched',
    );
    this.events.emit({
      type: 'source-switch',
      sessionId: `failover-${app}/${name}`,
      protocol: 'failover',
      ip: '',
      app,
      name,
      reason,
      extra: { active: active ?? null },
    });
  }

  close(): void {
    for (const sw of this.switches.values()) sw.close();
    this.switches.clear();
  }
}
