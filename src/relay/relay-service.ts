import { readFileSync } from 'node:fs';
import type { Config } from '../config/schema.js';
import type { EgressPolicy } from '../core/egress.js';
import { isInternalStreamName, type StreamRegistry } from '../core/registry.js';
import type { Stream } from '../core/stream.js';
import type { Counters } from '../observability/counters.js';
import type { Logger } from '../observability/logger.js';
import type { RelayDeps } from './deps.js';
import { PullRelay, type PullView } from './pull.js';
import { PushRelay, type PushSessionView } from './push.js';
import type { EdgeConfig, PullConfig, PushConfig, RelaysConfig } from './schema.js';
import { expandTemplate, originUrl, redactUrl } from './urls.js';
import { pulledOnDemand } from './viewer-lease.js';

export interface PushRule {
  id: string;
  app: string;
  /** only this stream (else every stream of the app) */
  stream?: string;
  /** destination template (`{name}`, `{app}`) */
  url: string;
  source: 'config' | 'api' | 'edge';
}

export interface PushRuleView {
  id: string;
  app: string;
  stream: string | null;
  url: string;
  source: PushRule['source'];
  /** one per live stream it forwards */
  sessions: PushSessionView[];
}

export interface RelaysView {
  pushes: PushRuleView[];
  pulls: PullView[];
  edges: Array<{ app: string; origins: string[]; forwardPublish: boolean }>;
}

export interface RelayServiceDeps {
  config: Config;
  registry: StreamRegistry;
  counters: Counters;
  log: Logger;
  policy: EgressPolicy;
}

export class RelayRuleError extends Error {
  constructor(
    message: string,
    readonly conflict = false,
  ) {
    super(message);
  }
}

/** A push URL whose last path segment is literal (not `{name}`) carries a stream key: hidden in views and logs. */
const keyInPath = (template: string) => !/\{name\}[^/]*$/.test(template.split('?')[0]);

/**
 * Relays: pushes (a PushRelay subscriber per live stream that matches a rule, attached when it is announced),
 * static pulls (PullRelay publishers, `always` from start-up or `on-demand`), and edge apps (a play for a stream
 * that is not live opens one on-demand pull over the origins, shared by every local player; a local publish is
 * forwarded to the origins when configured). Everything goes through the registry's hooks: core has no relay
 * special cases. HLS/DASH viewers play through a viewer lease (viewer-lease.ts), a subscriber like any player.
 */
export class RelayService {
  private readonly deps: RelayDeps;
  private readonly rules = new Map<string, PushRule>();
  /** active pushes by `${rule}|${path}` */
  private readonly pushes = new Map<string, PushRelay>();
  /** active pulls by path */
  private readonly pulls = new Map<string, PullRelay>();
  private readonly staticPulls = new Map<string, PullConfig>();
  private readonly edges = new Map<string, EdgeConfig>();
  private readonly relays: RelaysConfig;
  private nextId = 1;
  private nextRuleId = 1;
  private closed = false;

  constructor(private readonly o: RelayServiceDeps) {
    this.relays = o.config.relays;
    const r = this.relays;
    this.deps = {
      registry: o.registry,
      counters: o.counters,
      log: o.log,
      policy: o.policy,
      backoff: {
        initialMs: r.backoffInitialMs,
        maxMs: Math.max(r.backoffMaxMs, r.backoffInitialMs),
        jitter: r.backoffJitter,
      },
      connectTimeoutMs: r.connectTimeoutMs,
      firstMediaTimeoutMs: r.firstMediaTimeoutMs,
      mediaTimeoutMs: r.mediaTimeoutMs,
      idleGraceMs: r.idleGraceMs,
      tls: {
        rejectUnauthorized: r.tlsVerify,
        ca: r.tlsCaFile ? readFileSync(r.tlsCaFile) : undefined,
      },
    };
    r.push.forEach((p, i) => {
      this.addRule(p, 'config', `push-${i + 1}`);
    });
    for (const p of r.pull) this.staticPulls.set(`${p.app}/${p.name}`, p);
    for (const [app, edge] of Object.entries(r.edge)) {
      this.edges.set(app, edge);
      if (!Object.hasOwn(o.config.apps, app))
        o.log.warn({ app }, 'relays.edge app is not in `apps`: clients cannot connect to it');
      if (edge.forwardPublish)
        this.rules.set(`edge:${app}`, { id: `edge:${app}`, app, url: edge.origins[0], source: 'edge' });
    }
  }

  start(): void {
    const { registry } = this.o;
    registry.onAnnounce((stream) => this.onAnnounce(stream));
    const onDemand =
      this.edges.size > 0 || [...this.staticPulls.values()].some((p) => p.mode === 'on-demand');
    if (onDemand) {
      registry.onDemand((stream) => this.onDemand(stream));
      registry.onIdle((stream) => this.pulls.get(stream.path)?.onIdle());
    }
    for (const p of this.staticPulls.values())
      if (p.mode === 'always') this.startPull(p.app, p.name, 'static');
  }

  close(): void {
    this.closed = true;
    for (const p of [...this.pushes.values()]) p.stop('server-shutdown');
    for (const p of [...this.pulls.values()]) p.stop('server-shutdown');
  }

  // --- pushes ---

  private addRule(
    p: Omit<PushConfig, 'id'> & { id?: string },
    source: PushRule['source'],
    fallbackId: string,
  ) {
    const id = p.id ?? fallbackId;
    if (this.rules.has(id)) throw new RelayRuleError(`a push with id ${id} exists`, true);
    const rule: PushRule = { id, app: p.app, stream: p.stream, url: p.url, source };
    this.rules.set(id, rule);
    return rule;
  }

  private matches(rule: PushRule, stream: Stream): boolean {
    if (rule.app !== stream.app || (rule.stream !== undefined && rule.stream !== stream.name)) return false;
    // edge publish forwarding is for local publishers: a stream pulled from the origin is not sent back
    if (rule.source === 'edge') return !(stream.publisher instanceof PullRelay);
    return true;
  }

  private onAnnounce(stream: Stream): void {
    if (this.closed || isInternalStreamName(stream.name)) return;
    for (const rule of this.rules.values()) if (this.matches(rule, stream)) this.startPush(rule, stream);
  }

  private pushUrls(rule: PushRule, stream: Stream): string[] {
    if (rule.source === 'edge') {
      const edge = this.edges.get(rule.app);
      return (edge?.origins ?? [rule.url])
        .filter((u) => /^rtmps?:/i.test(u))
        .map((u) => originUrl(u, stream.app, stream.name));
    }
    return [expandTemplate(rule.url, stream.app, stream.name)];
  }

  private startPush(rule: PushRule, stream: Stream): void {
    const key = `${rule.id}|${stream.path}`;
    const existing = this.pushes.get(key);
    if (existing && existing.stream === stream && existing.state !== 'stopped') return; // already attached
    existing?.stop('replaced');
    const urls = this.pushUrls(rule, stream);
    if (urls.length === 0) return;
    const push = new PushRelay(
      `push-${this.nextId++}`,
      rule.id,
      this.deps,
      stream,
      urls,
      rule.source !== 'edge' && keyInPath(rule.url),
      (p) => {
        if (this.pushes.get(key) === p) this.pushes.delete(key);
      },
    );
    this.pushes.set(key, push);
    push.begin();
  }

  /** Add a push at run time; it starts at once for the live streams it matches. */
  addPush(p: PushConfig): PushRuleView {
    if (this.closed) throw new RelayRuleError('shutting down', true);
    let id = p.id;
    if (id === undefined) {
      do id = `api-${this.nextRuleId++}`;
      while (this.rules.has(id));
    }
    const rule = this.addRule({ ...p, id }, 'api', id);
    for (const stream of this.o.registry.list()) {
      if (stream.live && !isInternalStreamName(stream.name) && this.matches(rule, stream))
        this.startPush(rule, stream);
    }
    return this.ruleView(rule);
  }

  /** Remove a push (its live sessions end); false when there is none with that id. */
  removePush(id: string): boolean {
    const rule = this.rules.get(id);
    if (!rule) return false;
    this.rules.delete(id);
    for (const p of [...this.pushes.values()]) if (p.ruleId === id) p.stop('removed');
    return true;
  }

  // --- pulls ---

  /** A player (or HLS/DASH viewers' lease, see viewer-lease.ts) on a path that is not live. */
  private onDemand(stream: Stream): void {
    if (this.closed || !pulledOnDemand(this.relays, stream.app, stream.name)) return;
    const active = this.pulls.get(stream.path);
    if (active && active.state !== 'stopped') return;
    this.startPull(stream.app, stream.name, this.staticPulls.has(stream.path) ? 'static' : 'edge');
  }

  private startPull(app: string, name: string, kind: 'static' | 'edge'): void {
    const path = `${app}/${name}`;
    let urls: string[];
    let mode: 'always' | 'on-demand';
    if (kind === 'static') {
      const stat = this.staticPulls.get(path);
      if (!stat) return;
      urls = stat.urls.map((u) => expandTemplate(u, app, name));
      mode = stat.mode;
    } else {
      const edge = this.edges.get(app);
      if (!edge) return;
      urls = edge.origins.map((o) => originUrl(o, app, name));
      mode = 'on-demand';
    }
    const pull = new PullRelay(`pull-${this.nextId++}`, app, name, kind, mode, this.deps, urls, (p) => {
      if (this.pulls.get(path) === p) this.pulls.delete(path);
    });
    this.pulls.set(path, pull);
    this.o.log.info({ id: pull.id, path, kind, mode, origins: urls.length }, 'pull start');
    pull.start();
  }

  // --- views ---

  private ruleView(rule: PushRule): PushRuleView {
    const now = Date.now();
    return {
      id: rule.id,
      app: rule.app,
      stream: rule.stream ?? null,
      url: rule.source === 'edge' ? redactUrl(rule.url) : redactUrl(rule.url, keyInPath(rule.url)),
      source: rule.source,
      sessions: [...this.pushes.values()].filter((p) => p.ruleId === rule.id).map((p) => p.view(now)),
    };
  }

  list(): RelaysView {
    const now = Date.now();
    const pulls = [...this.pulls.values()].map((p) => p.view(now));
    // static on-demand pulls that are not running now are listed idle
    for (const p of this.staticPulls.values()) {
      if (this.pulls.has(`${p.app}/${p.name}`)) continue;
      pulls.push({
        id: `pull:${p.app}/${p.name}`,
        app: p.app,
        name: p.name,
        kind: 'static',
        mode: p.mode,
        state: this.closed ? 'stopped' : 'idle',
        url: redactUrl(p.urls[0]),
        urls: p.urls.length,
        retries: 0,
        failures: 0,
        bytes: 0,
        players: this.o.registry.playerCount(p.app, p.name),
        liveSince: null,
        lastError: null,
        nextRetryInMs: null,
      });
    }
    pulls.sort((a, b) => a.app.localeCompare(b.app) || a.name.localeCompare(b.name));
    return {
      pushes: [...this.rules.values()].map((r) => this.ruleView(r)),
      pulls,
      edges: [...this.edges].map(([app, e]) => ({
        app,
        origins: e.origins.map((u) => redactUrl(u)),
        forwardPublish: e.forwardPublish,
      })),
    };
  }
}
