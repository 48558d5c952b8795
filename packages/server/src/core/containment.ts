/**
 * Exceptions are contained where they would otherwise escape (issue 14 §4): a timer callback that
 * throws would be an uncaught exception (the process exits) and would stop a sweep that re-arms itself;
 * a subscriber whose delivery throws would stop the fan-out to the others and fail the publisher. Each
 * is caught at that boundary, counted in `skein_contained_errors_total{where}` and logged; nothing else
 * changes.
 */
import type { Clock, Logger, Timer } from "./ports.js";
import type { Metrics } from "./metrics.js";

/** Where an exception was contained: the label of `skein_contained_errors_total`. */
export type ContainedWhere = "timer" | "delivery" | "session_event" | "will" | "socket_close" | "frame";

/** Counts and logs exceptions contained at a boundary. */
export class Containment {
  constructor(
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {}

  /** Records an exception caught at `where` (counted and logged at level error). */
  contained(where: ContainedWhere, err: unknown): void {
    this.metrics.inc("skein_contained_errors_total", { where });
    this.log.error({ err, where }, "an exception was contained");
  }

  /** Runs `fn`; an exception it throws is {@link Containment.contained} instead of thrown. */
  run(where: ContainedWhere, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.contained(where, err);
    }
  }

  /** `clock` whose timer callbacks never throw out of the timer (they are contained as `timer`). */
  guardClock(clock: Clock): Clock {
    return {
      now: () => clock.now(),
      setTimeout: (fn: () => void, ms: number): Timer =>
        clock.setTimeout(() => {
          try {
            fn();
          } catch (err) {
            this.contained("timer", err);
          }
        }, ms),
      clearTimeout: (timer: Timer) => clock.clearTimeout(timer),
    };
  }
}
