/**
 * Bitrates from byte totals sampled once a second: each live stream's bytes in (its ingest total) and bytes out
 * (the bytes its players were sent, accumulated per session so a player leaving does not make the total go
 * down). The rate is taken over the last `windowMs` of samples; before two samples exist, since publish.
 */

export interface StreamBytes {
  /** `app/name` */
  path: string;
  /** when the current publisher started: a new one restarts the stream's samples */
  publishedAt: number;
  bytesIn: number;
  /** bytes out so far of each player session of the stream now */
  players: ReadonlyArray<{ id: string; bytesOut: number }>;
}

export interface Rates {
  /** bits per second */
  in: number;
  out: number;
  /** bytes sent to this stream's players since publish (including players that have left) */
  bytesOut: number;
}

interface Sample {
  t: number;
  in: number;
  out: number;
}

interface Track {
  publishedAt: number;
  samples: Sample[];
  outTotal: number;
  lastOut: Map<string, number>;
}

export class RateSampler {
  private readonly tracks = new Map<string, Track>();
  private cpu: { t: number; usage: NodeJS.CpuUsage } | undefined;
  private cpuPercent = 0;

  constructor(private readonly windowMs = 5_000) {}

  /** Records the streams live now; streams not listed are forgotten. */
  sample(streams: readonly StreamBytes[], now = Date.now()): void {
    const seen = new Set<string>();
    for (const s of streams) {
      seen.add(s.path);
      let tr = this.tracks.get(s.path);
      if (!tr || tr.publishedAt !== s.publishedAt) {
        tr = { publishedAt: s.publishedAt, samples: [], outTotal: 0, lastOut: new Map() };
        this.tracks.set(s.path, tr);
      }
      this.accumulate(tr, s.players);
      tr.samples.push({ t: now, in: s.bytesIn, out: tr.outTotal });
      while (tr.samples.length > 2 && now - tr.samples[1].t >= this.windowMs) tr.samples.shift();
    }
    for (const path of [...this.tracks.keys()]) if (!seen.has(path)) this.tracks.delete(path);
  }

  private accumulate(tr: Track, players: StreamBytes['players']): void {
    const next = new Map<string, number>();
    for (const p of players) {
      const last = tr.lastOut.get(p.id) ?? 0;
      tr.outTotal += Math.max(0, p.bytesOut - last);
      next.set(p.id, Math.max(last, p.bytesOut));
    }
    tr.lastOut = next;
  }

  /** Bitrates of a stream; `current` is its state now (used before two samples exist). */
  rates(current: StreamBytes, now = Date.now()): Rates {
    const tr = this.tracks.get(current.path);
    const same = tr?.publishedAt === current.publishedAt ? tr : undefined;
    let pending = 0;
    for (const p of current.players) pending += Math.max(0, p.bytesOut - (same?.lastOut.get(p.id) ?? 0));
    const bytesOut = (same?.outTotal ?? 0) + pending;
    if (same && same.samples.length >= 2) {
      const first = same.samples[0];
      const last = same.samples[same.samples.length - 1];
      const dt = (last.t - first.t) / 1000;
      if (dt > 0) {
        const rate = (a: number, b: number) => Math.round(((b - a) * 8) / dt);
        return { in: rate(first.in, last.in), out: rate(first.out, last.out), bytesOut };
      }
    }
    const dt = Math.max(1, now - current.publishedAt) / 1000;
    return { in: Math.round((current.bytesIn * 8) / dt), out: Math.round((bytesOut * 8) / dt), bytesOut };
  }

  /** Samples the process CPU time; percent() is the share of one core used between the last two samples. */
  sampleCpu(now = Date.now(), usage = process.cpuUsage()): void {
    if (this.cpu && now > this.cpu.t) {
      const used = usage.user - this.cpu.usage.user + (usage.system - this.cpu.usage.system);
      this.cpuPercent = Math.round((used / 1000 / (now - this.cpu.t)) * 1000) / 10;
    }
    this.cpu = { t: now, usage };
  }

  get cpuPercentOfOneCore(): number {
    return this.cpuPercent;
  }
}
