/**
 * Work that fell due, done a slice per timer turn (issue 11, issue 12 item 18): when many entries of a
 * timer structure fall due at once (100,000 idle topics, a million retained values that expire in the
 * same second), doing them all in one turn would hold the event loop for every client. Each turn
 * spends at most a budget of work units, then yields until the next turn.
 */
import type { Clock, Timer } from "./ports.js";

/** A queue of due items and the slices that work through it. */
export class DueQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  private timer: Timer | undefined;
  private stopped = false;
  private readonly drainFn = (): void => this.drain();

  /**
   * @param clock - the clock whose timers carry the slices
   * @param budget - work units one turn may spend
   * @param work - does one item at `now` and returns the units it cost
   * @param drained - called when the queue has been worked through
   */
  constructor(
    private readonly clock: Clock,
    private readonly budget: number,
    private readonly work: (item: T, now: number) => number,
    private readonly drained?: () => void,
  ) {}

  /** Items waiting for a slice. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** `item` fell due: done in the next slice. */
  push(item: T): void {
    this.items.push(item);
    if (this.timer === undefined && !this.stopped) this.arm();
  }

  /** Stops: nothing more is worked through. */
  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    this.timer = this.clock.setTimeout(this.drainFn, 0);
    this.timer.unref?.();
  }

  private drain(): void {
    this.timer = undefined;
    try {
      this.slice();
    } finally {
      // A throw (contained by the clock) must not stop the queue: what is left is done next turn.
      if (this.head < this.items.length && this.timer === undefined && !this.stopped) this.arm();
    }
  }

  private slice(): void {
    const now = this.clock.now();
    for (let spent = 0; spent < this.budget && this.head < this.items.length;) {
      const item = this.items[this.head] as T;
      this.items[this.head++] = undefined;
      spent += this.work(item, now);
    }
    if (this.head < this.items.length) return;
    this.items = [];
    this.head = 0;
    this.drained?.();
  }
}
