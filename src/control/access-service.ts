import {
  type AccessAction,
  type AccessPolicy,
  type AccessProtocol,
  compileAccessPolicy,
  decideLocal,
  KEY_PARAM,
  resourcePath,
} from '../access/access-request.js';
import { toAccessPolicy } from '../access/schema.js';
import { StreamKeyStore } from '../access/stream-keys.js';
import type { Config } from '../config/schema.js';
import type { ServerEvents } from '../core/events.js';
import type { Counters } from '../observability/counters.js';
import type { Logger } from '../observability/logger.js';
import { WebhookClient } from '../webhooks/client.js';
import type { WebhookDenyReason } from '../webhooks/decision.js';
import { createWebhookEvent, type WebhookEventName } from '../webhooks/events.js';
import { webhookUrlFor } from '../webhooks/schema.js';

/** One publish or play attempt, from any protocol. */
export interface AccessAsk {
  action: AccessAction;
  protocol: AccessProtocol;
  sessionId: string;
  app: string;
  name: string;
  /** the client's query string (tokens, keys) */
  query: string;
  ip: string;
}

export type AccessAnswer = { ok: true; name: string } | { ok: false; reason: string };

/** The webhook client's own deny reasons (WebhookDenyReason): counted as they are. */
const STABLE_WEBHOOK_REASONS: ReadonlySet<string> = new Set<WebhookDenyReason>([
  'webhook-denied',
  'webhook-status',
  'webhook-bad-response',
  'webhook-bad-redirect',
  'webhook-body-too-large',
  'webhook-timeout',
  'webhook-unreachable',
  'webhook-bad-url',
  'webhook-closed',
]);

/**
 * The one access decision for every protocol: IP rules and the app's mode (open, deny, key, signed) decided
 * here, `webhook` mode asked over HTTP before the client gets its answer. Also forwards server events to the
 * notification webhooks (connect, unpublish, stop, record-done; publish/play too when they were not already
 * asked as a decision).
 */
export class AccessService {
  readonly keys: StreamKeyStore;
  readonly webhooks: WebhookClient;
  private readonly policies = new Map<string, { publish: AccessPolicy; play: AccessPolicy }>();
  private offEvents: (() => void) | undefined;

  constructor(
    private readonly config: Config,
    private readonly counters: Counters,
    private readonly log: Logger,
  ) {
    const a = config.access;
    this.keys = new StreamKeyStore({ keys: a.keys, file: a.keysFile });
    for (const [app, cfg] of Object.entries(config.apps)) {
      this.policies.set(app, {
        publish: compileAccessPolicy(toAccessPolicy(cfg.publish)),
        play: compileAccessPolicy(toAccessPolicy(cfg.play)),
      });
    }
    const w = config.webhooks;
    this.webhooks = new WebhookClient({
      timeoutMs: w.timeoutMs,
      retries: w.retries,
      retryBaseMs: w.retryBaseMs,
      secret: w.secret,
      onLog: (level, obj, msg) => log[level](obj, msg),
    });
  }

  /** Notification webhooks follow the server's events. */
  start(events: ServerEvents): void {
    this.webhooks.start();
    this.offEvents = events.on((ev) => {
      if (ev.type === 'kick') return;
      const name = ev.type as WebhookEventName;
      // publish/play in webhook mode were already sent as the decision request
      if ((name === 'publish' || name === 'play') && this.policyOf(ev.app ?? '', name)?.mode === 'webhook')
        return;
      const url = webhookUrlFor(this.config.webhooks, name);
      if (!url) return;
      this.webhooks.notify(
        url,
        createWebhookEvent({
          event: name,
          sessionId: ev.sessionId,
          app: ev.app ?? '',
          name: ev.name ?? '',
          protocol: ev.protocol,
          ip: ev.ip,
          extra: ev.reason ? { reason: ev.reason, ...ev.extra } : ev.extra,
        }),
      );
    });
  }

  async close(): Promise<void> {
    this.offEvents?.();
    await this.webhooks.close();
  }

  /** anyone may do this in this app (mode `open`, no IP rules) */
  isOpen(app: string, action: AccessAction): boolean {
    const p = this.policyOf(app, action);
    return p !== undefined && p.mode === 'open' && !p.ipAllow?.length && !p.ipDeny?.length;
  }

  private policyOf(app: string, action: AccessAction): AccessPolicy | undefined {
    return this.policies.get(app)?.[action];
  }

  /** Resolves to allow (with the name to use: a key or webhook may map it) or deny with a reason code. */
  async check(ask: AccessAsk): Promise<AccessAnswer> {
    const policy = this.policyOf(ask.app, ask.action);
    if (!policy) return this.denied(ask, 'unknown-app');
    const query = new URLSearchParams(ask.query);
    const d = decideLocal(
      { ...ask, query, path: resourcePath(ask.app, ask.name) },
      policy,
      { keys: this.keys, secrets: this.config.access.secrets, bindIp: this.config.access.bindIp },
      Date.now(),
    );
    if (d.kind === 'allow') return { ok: true, name: d.name };
    if (d.kind === 'deny') return this.denied(ask, d.reason);
    const url = webhookUrlFor(this.config.webhooks, ask.action);
    if (!url) return this.denied(ask, 'not-configured');
    const answer = await this.webhooks.decide(
      url,
      createWebhookEvent({
        event: ask.action,
        sessionId: ask.sessionId,
        app: ask.app,
        name: ask.name,
        protocol: ask.protocol,
        ip: ask.ip,
        query: Object.fromEntries(query),
      }),
      { onTimeout: this.config.webhooks.onTimeout },
    );
    if (answer.kind === 'deny') {
      // the receiver's own reason goes to the log and the client; the counter keeps a stable label (a free-form
      // reason per request would make a new metrics series each time)
      return this.denied(
        ask,
        answer.reason,
        STABLE_WEBHOOK_REASONS.has(answer.reason) ? undefined : 'webhook-denied',
      );
    }
    return { ok: true, name: answer.name ?? ask.name };
  }

  private denied(ask: AccessAsk, reason: string, counted = reason): AccessAnswer {
    this.counters.inc(`${ask.action}_rejected`, counted);
    // in key mode the name may be the (wrong, or nearly right) stream key itself: keys stay out of logs
    const keyAsName =
      this.policyOf(ask.app, ask.action)?.mode === 'key' && !new URLSearchParams(ask.query).has(KEY_PARAM);
    const path = `${ask.app}/${keyAsName ? '(stream key)' : ask.name}`;
    this.log.info(
      { id: ask.sessionId, protocol: ask.protocol, ip: ask.ip, path, reason },
      `${ask.action} denied`,
    );
    return { ok: false, reason };
  }
}
