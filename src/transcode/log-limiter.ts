/**
 * A child's stderr, line by line, into the server log at a bounded rate: at most `maxLines` per window (10 s); the
 * rest are counted and reported once per window as one "suppressed" line. The last lines are kept for the API and
 * for the crash report. No timers: the window rolls on the next line or on flush().
 */
export interface LineSink {
  line(text: string): void;
  suppressed(count: number): void;
}

const MAX_LINE = 2000;

export class LogLimiter {
  private partial = '';
  private windowStart: number;
  private inWindow = 0;
  private dropped = 0;
  /** lines suppressed over the whole life */
  suppressedTotal = 0;
  linesTotal = 0;
  readonly recent: string[] = [];

  constructor(
    private readonly sink: LineSink,
    private readonly maxLines: number,
    private readonly windowMs = 10_000,
    private readonly keepRecent = 20,
    private readonly now: () => number = Date.now,
  ) {
    this.windowStart = now();
  }

  push(chunk: string): void {
    const lines = (this.partial + chunk).split(/\r?\n|\r/);
    this.partial = lines.pop() ?? '';
    if (this.partial.length > MAX_LINE) {
      lines.push(this.partial);
      this.partial = '';
    }
    for (const l of lines) if (l.trim()) this.line(l.slice(0, MAX_LINE));
  }

  /** The child exited: log a partial last line and any suppressed count. */
  flush(): void {
    if (this.partial.trim()) this.line(this.partial.slice(0, MAX_LINE));
    this.partial = '';
    this.roll(true);
  }

  private roll(force: boolean): void {
    const t = this.now();
    if (!force && t - this.windowStart < this.windowMs) return;
    if (this.dropped > 0) this.sink.suppressed(this.dropped);
    this.dropped = 0;
    this.inWindow = 0;
    this.windowStart = t;
  }

  private line(text: string): void {
    this.linesTotal++;
    this.recent.push(text);
    if (this.recent.length > this.keepRecent) this.recent.shift();
    this.roll(false);
    if (this.inWindow < this.maxLines) {
      this.inWindow++;
      this.sink.line(text);
    } else {
      this.dropped++;
      this.suppressedTotal++;
    }
  }
}
