/**
 * The online endpoints' rate limits: a bucket refilled continuously at `perMinute / 60` a second, holding at most
 * one second's worth, full at start. A request that costs more than the bucket holds goes once it is full (and
 * leaves it in debt), as servers let one large request through rather than refuse it forever.
 */

export class RateBucket {
  private tokens: number;
  private at: number;
  readonly capacity: number;
  private readonly perMs: number;

  constructor(
    readonly perMinute: number,
    now: number,
  ) {
    this.perMs = perMinute / 60_000;
    this.capacity = Math.max(1, perMinute / 60);
    this.tokens = this.capacity;
    this.at = now;
  }

  private refill(now: number): void {
    if (now > this.at) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.at) * this.perMs);
      this.at = now;
    }
  }

  /** What may be taken now (negative while in debt). */
  available(now: number): number {
    this.refill(now);
    return this.tokens;
  }

  /** Milliseconds until `cost` fits (0: now). */
  waitMs(cost: number, now: number): number {
    const need = Math.min(cost, this.capacity);
    const have = this.available(now);
    return have >= need ? 0 : Math.ceil((need - have) / this.perMs);
  }

  take(cost: number): void {
    this.tokens -= cost;
  }
}
