/**
 * Counters with reason labels. Every drop, skip, rejection and disconnect is counted here with a reason code;
 * the API and /metrics read one snapshot of it.
 */
export class Counters {
  private readonly values = new Map<string, number>();

  inc(name: string, reason?: string, by = 1): void {
    const key = reason === undefined ? name : `${name}{${reason}}`;
    this.values.set(key, (this.values.get(key) ?? 0) + by);
  }

  get(name: string, reason?: string): number {
    return this.values.get(reason === undefined ? name : `${name}{${reason}}`) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.values);
  }
}
