/**
 * Removal policies run from a timer wheel (issue 11): a topic with a removal policy is looked at when
 * its idle time may have run out, and only then, instead of a sweep that walked every topic of the
 * tree every `removalSweepMs`. Updates do not touch the wheel (they only move `lastActivity`): a topic
 * found busy when it falls due is put back for the end of its new idle time.
 *
 * What falls due in one wake-up is worked through in slices (at most {@link EXAMINE} looked at and
 * {@link REMOVE} removed per timer turn), so that removing many idle topics at once never holds the
 * event loop (100,000 removals in one turn took 0.7-1.2 s, a stall every client would see).
 */
import type { Clock, Logger, Timer } from "./ports.js";
import { TimerWheel, type WheelEntry } from "./timer-wheel.js";
import type { Topic } from "./types.js";

/** Topics looked at per timer turn at most (well under a millisecond's work). */
const EXAMINE = 5000;
/** Topics removed per timer turn at most (each tells subscribers and listeners). */
const REMOVE = 100;

/** What the schedule asks of the core. */
export interface RemovalHost {
  /** True while `topic` is in the tree (it may have been removed otherwise meanwhile). */
  isLive(topic: Topic): boolean;
  /** True when some subscription matches `path`. */
  hasSubscribers(path: string): boolean;
  /** Removes the topic (telling subscribers and listeners). */
  remove(topic: Topic): void;
}

/** One topic's place in the wheel. */
class RemovalCheck implements WheelEntry {
  wheelAt = NaN;

  constructor(
    readonly topic: Topic,
    private readonly schedule: RemovalSchedule,
  ) {}

  wheelDue(): void {
    this.schedule.fellDue(this);
  }
}

/** The topics with a removal policy, each due when its idle time may have run out. */
export class RemovalSchedule {
  private readonly wheel: TimerWheel<RemovalCheck>;
  /** Checks fallen due and not yet looked at, from {@link head} on. */
  private due: (RemovalCheck | undefined)[] = [];
  private head = 0;
  private drainTimer: Timer | undefined;
  private stopped = false;
  private removed = 0;
  private readonly drainFn = (): void => this.drain();

  constructor(
    private readonly clock: Clock,
    private readonly host: RemovalHost,
    private readonly log: Logger,
  ) {
    this.wheel = new TimerWheel(clock, 1000, 100);
  }

  /** Topics waiting in the wheel or in the due queue. */
  get size(): number {
    return this.wheel.size + this.due.length - this.head;
  }

  /** A topic was added: with a removal policy, it falls due at the end of its idle time. */
  add(topic: Topic): void {
    const removal = topic.spec.properties?.removal;
    if (removal === undefined || this.stopped) return;
    this.wheel.schedule(new RemovalCheck(topic, this), topic.lastActivity + removal.idleMs);
  }

  /** The wheel's call: `check` fell due; looked at in the next slice. */
  fellDue(check: RemovalCheck): void {
    this.due.push(check);
    if (this.drainTimer === undefined && !this.stopped) this.arm();
  }

  /** Stops: nothing more is looked at or removed. */
  stop(): void {
    this.stopped = true;
    this.wheel.stop();
    if (this.drainTimer) this.clock.clearTimeout(this.drainTimer);
    this.drainTimer = undefined;
  }

  private arm(): void {
    this.drainTimer = this.clock.setTimeout(this.drainFn, 0);
    this.drainTimer.unref?.();
  }

  /** One slice: looks at what fell due, removes the topics idle long enough, puts the others back. */
  private drain(): void {
    this.drainTimer = undefined;
    try {
      this.slice();
    } finally {
      // A throw (contained by the clock) must not stop the removals: what is left is looked at next.
      if (this.head < this.due.length && this.drainTimer === undefined && !this.stopped) this.arm();
    }
  }

  /** Up to EXAMINE checks, REMOVE removals; the rest wait for the next slice. */
  private slice(): void {
    const now = this.clock.now();
    const host = this.host;
    let removed = 0;
    for (
      let examined = 0;
      examined < EXAMINE && removed < REMOVE && this.head < this.due.length;
      examined++
    ) {
      const check = this.due[this.head] as RemovalCheck;
      this.due[this.head++] = undefined;
      const topic = check.topic;
      const removal = topic.spec.properties?.removal;
      if (removal === undefined || !host.isLive(topic)) continue;
      const idleUntil = topic.lastActivity + removal.idleMs;
      if (idleUntil > now) {
        // Updated since it was scheduled: due again at the end of its new idle time.
        this.wheel.schedule(check, idleUntil);
        continue;
      }
      // A value or a subscriber keeps it for another idle time (then looked at again).
      if (((removal.onlyWithoutValue ?? true) && topic.value) || host.hasSubscribers(topic.path)) {
        this.wheel.schedule(check, now + removal.idleMs);
        continue;
      }
      host.remove(topic);
      this.removed++;
      removed++;
    }
    if (this.head < this.due.length) return;
    this.due = [];
    this.head = 0;
    if (this.removed > 0) this.log.debug({ removed: this.removed }, "removed idle topics");
    this.removed = 0;
  }
}
