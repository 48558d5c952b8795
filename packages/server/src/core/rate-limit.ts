/**
 * Rate limits for floods (issue 14 §4): a token bucket refilled from the clock on each use (no timer
 * per session or address), and a bounded map of buckets per remote address. Used by the doors for the
 * per-session publish rate and by the listeners for the per-address connection rate.
 */

/** A rate: `perSecond` on average, up to `burst` at once. */
export interface RateLimit {
  /** Tokens added per second (> 0). */
  readonly perSecond: number;
  /** Most tokens held (the largest burst), at least 1. */
  readonly burst: number;
}

/** The rate limit of a pair of configuration keys: undefined (no limit) when `perSecond` is 0. */
export function rateLimit(perSecond: number, burst: number): RateLimit | undefined {
  return perSecond > 0 ? { perSecond, burst: Math.max(1, burst) } : undefined;
}

/** A token bucket: starts full, refills continuously, one token per event. */
export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    private readonly limit: RateLimit,
    now: number,
  ) {
    this.tokens = limit.burst;
    this.last = now;
  }

  /** Takes one token at time `now` (epoch ms): false when the bucket is empty (the event is refused). */
  take(now: number): boolean {
    const elapsed = now - this.last;
    if (elapsed > 0) {
      this.tokens = Math.min(this.limit.burst, this.tokens + (elapsed * this.limit.perSecond) / 1000);
      this.last = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Addresses an {@link AddressRateLimiter} remembers at most (the least recently seen goes first). */
export const MAX_RATE_LIMITED_ADDRESSES = 10_000;

/** One token bucket per remote address, at most {@link MAX_RATE_LIMITED_ADDRESSES} of them. */
export class AddressRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(private readonly limit: RateLimit) {}

  /** True when one more event from `address` at `now` is within the rate. */
  allow(address: string, now: number): boolean {
    let bucket = this.buckets.get(address);
    if (bucket === undefined) {
      if (this.buckets.size >= MAX_RATE_LIMITED_ADDRESSES) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      bucket = new TokenBucket(this.limit, now);
    } else this.buckets.delete(address); // re-inserted below: the map stays in least-recent order
    this.buckets.set(address, bucket);
    return bucket.take(now);
  }
}
