// Latency percentiles in constant memory: a log-scale histogram whose buckets are 2% wide,
// so p50 and p99 are within 1% of the true value however many calls an edge carries (a live
// session can run for hours; keeping every sample would grow without bound).

const GROWTH = 1.02;
const LOG_GROWTH = Math.log(GROWTH);
/** Below a microsecond every latency is one bucket. */
const FLOOR_MS = 0.001;

export class LatencyHistogram {
  private readonly buckets = new Map<number, number>();
  private count = 0;
  private min = Infinity;
  private max = -Infinity;

  add(ms: number): void {
    const index = ms <= FLOOR_MS ? 0 : Math.ceil(Math.log(ms / FLOOR_MS) / LOG_GROWTH);
    this.buckets.set(index, (this.buckets.get(index) ?? 0) + 1);
    this.count += 1;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  merge(other: LatencyHistogram): void {
    for (const [index, n] of other.buckets) this.buckets.set(index, (this.buckets.get(index) ?? 0) + n);
    this.count += other.count;
    this.min = Math.min(this.min, other.min);
    this.max = Math.max(this.max, other.max);
  }

  get samples(): number {
    return this.count;
  }

  /** The q-quantile (0..1) in ms, nearest-rank, or null without samples. */
  quantile(q: number): number | null {
    if (this.count === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.count));
    // The extremes are kept exactly.
    if (rank === 1) return this.min;
    if (rank >= this.count) return this.max;
    let seen = 0;
    for (const index of [...this.buckets.keys()].sort((a, b) => a - b)) {
      seen += this.buckets.get(index)!;
      if (seen >= rank) {
        // The bucket (upper edge FLOOR*G^i) holds values in (FLOOR*G^(i-1), FLOOR*G^i]: its
        // geometric middle is within 1% of any of them. Clamped to what was really seen.
        const middle = index === 0 ? FLOOR_MS : FLOOR_MS * GROWTH ** (index - 0.5);
        return Math.min(this.max, Math.max(this.min, middle));
      }
    }
    return this.max;
  }
}
