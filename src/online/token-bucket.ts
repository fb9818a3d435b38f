/**
 * Token buckets for requests-per-minute and tokens-per-minute limits. A bucket refills continuously at
 * `perMinute / 60` per second up to its capacity (a fraction of a second's worth, so that a start or a pause
 * never bursts far above the rate). A cost larger than the capacity is let through once the bucket is full and
 * leaves it in debt, so one large request is never blocked forever. Pure: the clock is passed in.
 */

/** A bucket holds at most this many seconds' worth, and starts empty: sending begins at the rate, not in a burst. */
const BURST_SECONDS = 0.5;

export class TokenBucket {
  private tokens: number;
  private at: number;
  readonly capacity: number;
  private readonly perMs: number;

  /** `perMinute` tokens a minute, at most half a second's worth (at least 1) at once. */
  constructor(perMinute: number, now: number) {
    if (!(perMinute > 0)) throw new RangeError(`a token bucket needs a positive rate (got ${perMinute})`);
    this.perMs = perMinute / 60_000;
    this.capacity = Math.max(1, (perMinute / 60) * BURST_SECONDS);
    this.tokens = 0;
    this.at = now;
  }

  private refill(now: number): void {
    if (now > this.at) {
      this.tokens = Math.min(this.capacity, this.tokens + (now - this.at) * this.perMs);
      this.at = now;
    }
  }

  /** Milliseconds until `cost` can be taken (0: now). */
  waitMs(cost: number, now: number): number {
    this.refill(now);
    const need = Math.min(cost, this.capacity);
    return this.tokens >= need ? 0 : Math.ceil((need - this.tokens) / this.perMs);
  }

  /** Takes `cost` if it fits now; returns whether it did. */
  tryTake(cost: number, now: number): boolean {
    if (this.waitMs(cost, now) > 0) return false;
    this.tokens -= cost;
    return true;
  }
}

export interface RateLimits {
  /** Requests per minute (absent: unlimited). */
  rpm?: number;
  /** Tokens per minute (absent: unlimited). */
  tpm?: number;
}

/** Both limits together, plus a shared pause (a server's `retry-after` holds every sender, not just one). */
export class RateLimiter {
  private readonly requests: TokenBucket | null;
  private readonly tokens: TokenBucket | null;
  private pausedUntil = 0;

  constructor(limits: RateLimits, now: number) {
    this.requests = limits.rpm ? new TokenBucket(limits.rpm, now) : null;
    this.tokens = limits.tpm ? new TokenBucket(limits.tpm, now) : null;
  }

  /** Milliseconds until a request of `cost` tokens may go (0: now). */
  waitMs(cost: number, now: number): number {
    return Math.max(this.pausedUntil - now, this.requests?.waitMs(1, now) ?? 0, this.tokens?.waitMs(cost, now) ?? 0, 0);
  }

  /** Takes one request and `cost` tokens if both fit now. */
  tryTake(cost: number, now: number): boolean {
    if (this.waitMs(cost, now) > 0) return false;
    this.requests?.tryTake(1, now);
    this.tokens?.tryTake(cost, now);
    return true;
  }

  /** Holds every request until `until` (ms). */
  pauseUntil(until: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, until);
  }
}
