import { decide as interpret, type TimeoutPolicy, type WebhookDecision } from './decision.js';
import type { WebhookEvent } from './events.js';
import { DELIVERY_HEADER, EVENT_HEADER, SIGNATURE_HEADER, signBody } from './signature.js';
import { HttpTransport, type PostOutcome } from './transport.js';

export type WebhookLogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface WebhookClientOptions {
  /** each POST (connect to the end of the response body) must finish within this */
  timeoutMs: number;
  /** extra attempts for a notification (network error, timeout, 5xx); 3 means at most 4 POSTs */
  retries: number;
  /** first retry delay; doubles per retry, with jitter (50-100% of the nominal delay) */
  retryBaseMs: number;
  /** signs every body (`X-Tidecast-Signature`) when set */
  secret?: string;
  /** pino-shaped: `onLog('warn', { url }, 'msg')` maps to `logger.warn({ url }, 'msg')` */
  onLog?: (level: WebhookLogLevel, obj: Record<string, unknown>, msg: string) => void;
  userAgent?: string;
  /** notifications waiting (in flight or for a retry) beyond this are dropped; default 1000 */
  maxPending?: number;
  /** longest retry delay; default 30 s */
  retryMaxMs?: number;
  /** jitter source, [0, 1); default Math.random */
  random?: () => number;
}

export interface WebhookStats {
  /** notifications delivered (2xx) */
  sent: number;
  /** notifications given up on (4xx, 3xx, or retries exhausted) */
  failed: number;
  /** retry attempts made */
  retried: number;
  /** notifications not sent: client not running, too many pending, or cancelled by close() */
  dropped: number;
  /** notifications in flight or waiting to retry */
  pending: number;
}

/**
 * Calls the control plane's webhooks. `decide()` gates a publish/play: one POST, never retried (the session
 * waits on it, and a late second answer would be worse than a deny). `notify()` is fire-and-forget, retried
 * with backoff where the receiver cannot have acted on it (network error, timeout, 5xx). Retries resend the
 * same body and `X-Tidecast-Delivery` id, signed afresh.
 */
export class WebhookClient {
  private readonly opts: WebhookClientOptions;
  private transport: HttpTransport | undefined;
  private closing = new AbortController();
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly retryTimers = new Set<NodeJS.Timeout>();
  private readonly counts = { sent: 0, failed: 0, retried: 0, dropped: 0 };
  private pending = 0;
  private closed: Promise<void> = Promise.resolve();

  constructor(opts: WebhookClientOptions) {
    this.opts = opts;
  }

  start(): void {
    if (this.transport) return;
    this.closing = new AbortController();
    this.transport = new HttpTransport();
  }

  /** Aborts in-flight requests and cancels pending retries; resolves once every request has settled. */
  close(): Promise<void> {
    const transport = this.transport;
    if (!transport) return this.closed;
    this.transport = undefined;
    this.closed = this.shutdown(transport);
    return this.closed;
  }

  private async shutdown(transport: HttpTransport): Promise<void> {
    for (const timer of this.retryTimers) clearTimeout(timer);
    this.counts.dropped += this.retryTimers.size;
    this.pending -= this.retryTimers.size;
    this.retryTimers.clear();
    this.closing.abort();
    await Promise.allSettled([...this.inFlight]);
    transport.destroy();
  }

  stats(): WebhookStats {
    return { ...this.counts, pending: this.pending };
  }

  /** Asks `url` whether `ev` (a publish or play) may go on; never rejects. */
  async decide(url: string, ev: WebhookEvent, opts: { onTimeout: TimeoutPolicy }): Promise<WebhookDecision> {
    const target = parseUrl(url);
    if (!target) return this.denied(url, ev, { kind: 'deny', reason: 'webhook-bad-url' });
    const started = Date.now();
    const outcome = await this.post(target, ev, Buffer.from(JSON.stringify(ev)));
    const decision = interpret(outcome, opts.onTimeout);
    const log = { event: ev.event, id: ev.id, url: safeUrl(target), ms: Date.now() - started };
    if (decision.kind === 'deny') {
      return this.denied(url, ev, decision, { ...log, outcome: describe(outcome) });
    }
    if (outcome.kind === 'timeout') this.log('warn', log, 'webhook timed out; allowed (onTimeout: allow)');
    else this.log('debug', { ...log, name: decision.name }, 'webhook allowed');
    return decision;
  }

  /** Sends `ev` to `url` in the background, retrying where safe. */
  notify(url: string, ev: WebhookEvent): void {
    const target = parseUrl(url);
    const log = { event: ev.event, id: ev.id, url: target ? safeUrl(target) : '(invalid)' };
    if (!target || !this.transport || this.pending >= (this.opts.maxPending ?? 1000)) {
      this.counts.dropped++;
      const why = !target ? 'bad url' : !this.transport ? 'client not running' : 'too many pending';
      this.log('warn', log, `webhook notification dropped: ${why}`);
      return;
    }
    this.pending++;
    void this.attempt(target, ev, Buffer.from(JSON.stringify(ev)), 0, log);
  }

  private async attempt(
    target: URL,
    ev: WebhookEvent,
    body: Buffer,
    retry: number,
    log: Record<string, unknown>,
  ): Promise<void> {
    const outcome = await this.post(target, ev, body);
    if (outcome.kind === 'closed') {
      this.pending--;
      this.counts.dropped++;
      return;
    }
    if (outcome.kind === 'response' && outcome.status >= 200 && outcome.status <= 299) {
      this.pending--;
      this.counts.sent++;
      this.log('debug', { ...log, status: outcome.status, retry }, 'webhook delivered');
      return;
    }
    const retryable = outcome.kind !== 'response' ? outcome.kind !== 'too-large' : outcome.status >= 500;
    if (!retryable || retry >= this.opts.retries || !this.transport) {
      this.pending--;
      this.counts.failed++;
      this.log(
        'warn',
        { ...log, outcome: describe(outcome), attempts: retry + 1 },
        'webhook notification failed',
      );
      return;
    }
    const delay = this.backoff(retry);
    this.log(
      'debug',
      { ...log, outcome: describe(outcome), retry: retry + 1, delayMs: delay },
      'webhook retry',
    );
    const timer = setTimeout(() => {
      this.retryTimers.delete(timer);
      this.counts.retried++;
      void this.attempt(target, ev, body, retry + 1, log);
    }, delay);
    timer.unref();
    this.retryTimers.add(timer);
  }

  /** Nominal retryBaseMs * 2^retry, capped, times a random factor in [0.5, 1). */
  private backoff(retry: number): number {
    const nominal = Math.min(this.opts.retryBaseMs * 2 ** retry, this.opts.retryMaxMs ?? 30_000);
    return Math.round(nominal * (0.5 + 0.5 * (this.opts.random ?? Math.random)()));
  }

  private post(target: URL, ev: WebhookEvent, body: Buffer): Promise<PostOutcome> {
    const transport = this.transport;
    if (!transport) return Promise.resolve({ kind: 'closed' });
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      'user-agent': this.opts.userAgent ?? 'tidecast-webhook',
      [EVENT_HEADER]: ev.event,
      [DELIVERY_HEADER]: ev.id,
    };
    if (this.opts.secret) headers[SIGNATURE_HEADER] = signBody(this.opts.secret, body, Date.now() / 1000);
    const p = transport.post({
      url: target,
      body,
      headers,
      timeoutMs: this.opts.timeoutMs,
      closeSignal: this.closing.signal,
    });
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }

  private denied(
    url: string,
    ev: WebhookEvent,
    decision: WebhookDecision,
    log: Record<string, unknown> = {},
  ): WebhookDecision {
    // a receiver saying no is routine; anything else (timeout, unreachable, bad answer, 5xx) is worth a warning
    const routine =
      decision.kind === 'deny' &&
      decision.status !== undefined &&
      decision.status < 500 &&
      decision.reason !== 'webhook-bad-response' &&
      decision.reason !== 'webhook-bad-redirect' &&
      decision.reason !== 'webhook-body-too-large';
    const obj = { event: ev.event, id: ev.id, url: tryUrl(url), ...log, decision };
    this.log(routine ? 'info' : 'warn', obj, 'webhook denied');
    return decision;
  }

  private log(level: WebhookLogLevel, obj: Record<string, unknown>, msg: string): void {
    this.opts.onLog?.(level, obj, msg);
  }
}

function parseUrl(url: string): URL | undefined {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined;
  } catch {
    return undefined;
  }
}

/** Origin and path only: a query string or user info may hold credentials. */
function safeUrl(u: URL): string {
  return `${u.origin}${u.pathname}`;
}

function tryUrl(url: string): string {
  const u = parseUrl(url);
  return u ? safeUrl(u) : '(invalid)';
}

function describe(outcome: PostOutcome): string {
  switch (outcome.kind) {
    case 'response':
    case 'too-large':
      return `${outcome.kind} ${outcome.status}`;
    case 'network':
      return `network ${outcome.error}`;
    default:
      return outcome.kind;
  }
}
