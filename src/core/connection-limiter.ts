/**
 * Connection limits shared by every listener (RTMP, RTMPS, HTTP, HTTPS): at most `maxTotal` open in all,
 * `maxPerIp` open at once from one address, and new connections at most `ratePerIp` per second from one
 * address (a token bucket holding `ratePerIp` tokens). What a flood can hold or churn is bounded before any
 * protocol or TLS work is done for it.
 */
export type AdmitResult =
  | { ok: true; release: () => void }
  | { ok: false; reason: 'max-connections' | 'per-ip-limit' | 'rate-limit' };

interface Bucket {
  tokens: number;
  at: number;
}

export class ConnectionLimiter {
  private readonly open = new Map<string, number>();
  private readonly buckets = new Map<string, Bucket>();
  private total = 0;

  constructor(
    private readonly opts: { maxPerIp: number; ratePerIp: number; maxTotal?: number },
    private readonly now: () => number = Date.now,
  ) {}

  admit(ip: string): AdmitResult {
    if (this.opts.maxTotal !== undefined && this.total >= this.opts.maxTotal) {
      return { ok: false, reason: 'max-connections' };
    }
    const n = this.open.get(ip) ?? 0;
    if (n >= this.opts.maxPerIp) return { ok: false, reason: 'per-ip-limit' };
    if (!this.take(ip)) return { ok: false, reason: 'rate-limit' };
    this.open.set(ip, n + 1);
    this.total++;
    let released = false;
    return {
      ok: true,
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        const left = (this.open.get(ip) ?? 1) - 1;
        if (left <= 0) this.open.delete(ip);
        else this.open.set(ip, left);
      },
    };
  }

  /** open connections over all listeners */
  get openTotal(): number {
    return this.total;
  }

  /** open connections from ip */
  count(ip: string): number {
    return this.open.get(ip) ?? 0;
  }

  private take(ip: string): boolean {
    const rate = this.opts.ratePerIp;
    const now = this.now();
    let b = this.buckets.get(ip);
    if (!b) {
      if (this.buckets.size >= 50_000) this.sweep(now);
      b = { tokens: rate, at: now };
      this.buckets.set(ip, b);
    } else {
      b.tokens = Math.min(rate, b.tokens + ((now - b.at) / 1000) * rate);
      b.at = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** forget buckets that have refilled (they hold no state worth keeping) */
  private sweep(now: number): void {
    const rate = this.opts.ratePerIp;
    for (const [ip, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * rate >= rate) this.buckets.delete(ip);
    }
  }
}
