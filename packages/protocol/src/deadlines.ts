/**
 * Deadlines of many short-lived things (requests waiting for answers) on one timer.
 *
 * A timer per request costs an allocation and a timer-list insertion and removal, and most requests
 * are answered long before their deadline. Instead, entries wait in one queue per timeout length:
 * entries of the same length are added in deadline order, so each queue is ordered and only its head
 * matters. Finished entries leave lazily (when they reach a head); one clock timer is armed for the
 * earliest head. Bounded: a queue whose finished entries pile up behind a slow head is compacted once
 * it holds twice as many entries as when last compacted (and at least 1,024), so it never holds more
 * than about twice the entries still waiting.
 *
 * Entries of one length are in deadline order while the clock does not go back; if it does, an entry
 * may expire late by as much, never early.
 */

/** A timer handle of a {@link DeadlineClock}. */
export interface DeadlineTimer {
  /** Lets the process exit while the timer is armed (Node); absent elsewhere. */
  unref?(): unknown;
}

/** The time source and timer {@link Deadlines} uses (the system clock, or a manual one in tests). */
export interface DeadlineClock {
  /** Milliseconds, increasing. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): DeadlineTimer;
  /** Cancels a timer of {@link DeadlineClock.setTimeout}. */
  clearTimeout(timer: DeadlineTimer): void;
}

/** The platform's clock and timers (Node and browsers alike). */
export const systemClock: DeadlineClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms) as unknown as DeadlineTimer,
  clearTimeout: (timer) => clearTimeout(timer as unknown as ReturnType<typeof setTimeout>),
};

/** Something with a deadline. `done` becomes true when it no longer needs one. */
export interface Deadline {
  /** Epoch ms at which {@link Deadlines} calls `expire`. */
  deadline: number;
  /** True once finished: it is then dropped instead of expired. */
  done: boolean;
}

interface Queue<T> {
  /** Entries in deadline order; slots before `head` are cleared (undefined). */
  items: (T | undefined)[];
  head: number;
  /** Compact when the queue reaches this many entries. */
  compactAt: number;
}

const MIN_COMPACT = 1024;

/** Entries by timeout length, each queue in deadline order, and the one timer. */
export class Deadlines<T extends Deadline> {
  private readonly queues = new Map<number, Queue<T>>();
  private timer: DeadlineTimer | undefined;
  private timerAt = Infinity;

  /** @param expire - called once for each entry whose deadline passes while it is not done */
  constructor(
    private readonly clock: DeadlineClock,
    private readonly expire: (entry: T) => void,
  ) {}

  /** Adds `entry` to expire `timeoutMs` from now (sets its `deadline`). */
  add(entry: T, timeoutMs: number): void {
    entry.deadline = this.clock.now() + timeoutMs;
    let queue = this.queues.get(timeoutMs);
    if (!queue) this.queues.set(timeoutMs, (queue = { items: [], head: 0, compactAt: MIN_COMPACT }));
    queue.items.push(entry);
    if (queue.items.length - queue.head >= queue.compactAt) {
      queue.items = queue.items.slice(queue.head).filter((e) => e !== undefined && !e.done);
      queue.head = 0;
      queue.compactAt = Math.max(MIN_COMPACT, 2 * queue.items.length);
    }
    if (entry.deadline < this.timerAt) this.arm(entry.deadline);
  }

  /** Drops finished entries at the heads (call after marking entries done, to keep queues short). */
  trim(timeoutMs: number): void {
    const queue = this.queues.get(timeoutMs);
    if (queue) this.shiftDone(queue);
  }

  /** How many entries are held (finished ones not yet dropped included). */
  get size(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.items.length - q.head;
    return n;
  }

  /** Cancels the timer (the owner is shutting down). */
  stop(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private arm(at: number): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, at - this.clock.now()));
    this.timer.unref?.();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.clock.now();
    let next = Infinity;
    for (const [length, queue] of this.queues) {
      for (;;) {
        this.shiftDone(queue);
        const items = queue.items;
        const first = items[queue.head];
        if (!first || first.deadline > now) break;
        items[queue.head++] = undefined;
        first.done = true;
        this.expire(first);
      }
      const first = queue.items[queue.head];
      if (first) next = Math.min(next, first.deadline);
      else this.queues.delete(length);
    }
    if (next < Infinity) this.arm(next);
  }

  private shiftDone(queue: Queue<T>): void {
    const items = queue.items;
    // Slots behind the head are cleared: a finished entry must not stay reachable (and be promoted
    // to the old generation by the garbage collector) until the queue is next spliced.
    while (queue.head < items.length && (items[queue.head] as T).done) items[queue.head++] = undefined;
    if (queue.head === items.length) {
      items.length = 0;
      queue.head = 0;
    } else if (queue.head >= 1024 && queue.head * 2 >= items.length) {
      items.splice(0, queue.head);
      queue.head = 0;
    }
  }
}
