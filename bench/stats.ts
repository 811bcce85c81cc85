/**
 * Shared measurement helpers for the load benchmark: one clock for every process, the frame key
 * (payload-based, so latency is matched by content and never by timestamp) and a fixed-bucket histogram
 * that child processes can merge.
 */

/** Milliseconds on CLOCK_MONOTONIC (uv_hrtime): the same clock in every process on this machine. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** How many leading payload bytes a player keeps to identify a video frame. */
export const KEY_PREFIX_BYTES = 64;

/**
 * A video frame's key: FNV-1a over its first KEY_PREFIX_BYTES bytes, mixed with its length. Players see the
 * prefix without reassembling the message; the publisher checks the keys of the whole file are unique.
 */
export function frameKey(prefix: Uint8Array, prefixLen: number, length: number): number {
  let h = 0x811c9dc5 ^ length;
  for (let i = 0; i < prefixLen; i++) h = Math.imul(h ^ prefix[i], 0x01000193);
  // 53-bit key: the hash in the high part, the length (mod 2^21) in the low part
  return (h >>> 0) * 0x200000 + (length & 0x1fffff);
}

/** Latency histogram: 0.1 ms buckets up to 10 s, plus an overflow count. */
export class Histogram {
  static readonly BUCKET_MS = 0.1;
  static readonly BUCKETS = 100_000;
  readonly counts = new Uint32Array(Histogram.BUCKETS);
  overflow = 0;
  total = 0;
  sum = 0;
  max = 0;

  add(ms: number): void {
    const i = Math.floor(ms / Histogram.BUCKET_MS);
    if (i < 0) return;
    if (i >= Histogram.BUCKETS) this.overflow++;
    else this.counts[i]++;
    this.total++;
    this.sum += ms;
    if (ms > this.max) this.max = ms;
  }

  /** Sparse form for IPC: [bucket, count] pairs. */
  toJSON(): HistogramData {
    const pairs: number[] = [];
    for (let i = 0; i < this.counts.length; i++) if (this.counts[i] > 0) pairs.push(i, this.counts[i]);
    return { pairs, overflow: this.overflow, total: this.total, sum: this.sum, max: this.max };
  }

  merge(d: HistogramData): void {
    for (let i = 0; i < d.pairs.length; i += 2) this.counts[d.pairs[i]] += d.pairs[i + 1];
    this.overflow += d.overflow;
    this.total += d.total;
    this.sum += d.sum;
    if (d.max > this.max) this.max = d.max;
  }

  /** q in 0..1; NaN when empty; the bucket's upper edge (overflowed samples count as +Inf). */
  quantile(q: number): number {
    if (this.total === 0) return Number.NaN;
    const rank = Math.ceil(q * this.total);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i];
      if (seen >= rank) return (i + 1) * Histogram.BUCKET_MS;
    }
    return Number.POSITIVE_INFINITY;
  }
}

export interface HistogramData {
  pairs: number[];
  overflow: number;
  total: number;
  sum: number;
  max: number;
}

/** Quantile of raw samples (nearest rank); NaN when empty. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))];
}
