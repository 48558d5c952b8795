/**
 * Removal policies run from a timer wheel (issue 11): a topic with a removal policy is looked at when
 * its idle time may have run out, and only then, instead of a sweep that walked every topic of the
 * tree every `removalSweepMs`. Updates do not touch the wheel (they only move `lastActivity`): a topic
 * found busy when it falls due is put back for the end of its new idle time.
 *
 * What falls due in one wake-up is worked through in slices (a {@link DueQueue}: at most 5,000
 * looked at, or 100 removed, per timer turn), so that removing many idle topics at once never holds the
 * event loop (100,000 removals in one turn took 0.7-1.2 s, a stall every client would see).
 */
import { DueQueue } from "./due-queue.js";
import type { Clock, Logger } from "./ports.js";
import { TimerWheel, type WheelEntry } from "./timer-wheel.js";
import type { Topic } from "./types.js";

/** Work units of one timer turn: a topic looked at costs 1, a removal (it tells subscribers and
 * listeners) {@link REMOVAL_COST}; so at most 5,000 topics are looked at, or 100 removed, per turn. */
const BUDGET = 5000;
const REMOVAL_COST = 50;

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
  /** Checks fallen due and not yet looked at. */
  private readonly due: DueQueue<RemovalCheck>;
  private stopped = false;
  private removed = 0;

  constructor(
    clock: Clock,
    private readonly host: RemovalHost,
    private readonly log: Logger,
  ) {
    this.wheel = new TimerWheel(clock, 1000, 100);
    this.due = new DueQueue(
      clock,
      BUDGET,
      (check, now) => this.look(check, now),
      () => this.drained(),
    );
  }

  /** Topics waiting in the wheel or in the due queue. */
  get size(): number {
    return this.wheel.size + this.due.size;
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
  }

  /** Stops: nothing more is looked at or removed. */
  stop(): void {
    this.stopped = true;
    this.wheel.stop();
    this.due.stop();
  }

  /** Looks at one topic that fell due: removes it when idle long enough, or puts it back. */
  private look(check: RemovalCheck, now: number): number {
    const host = this.host;
    const topic = check.topic;
    const removal = topic.spec.properties?.removal;
    if (removal === undefined || !host.isLive(topic)) return 1;
    const idleUntil = topic.lastActivity + removal.idleMs;
    if (idleUntil > now) {
      // Updated since it was scheduled: due again at the end of its new idle time.
      this.wheel.schedule(check, idleUntil);
      return 1;
    }
    // A value or a subscriber keeps it for another idle time (then looked at again).
    if (((removal.onlyWithoutValue ?? true) && topic.value) || host.hasSubscribers(topic.path)) {
      this.wheel.schedule(check, now + removal.idleMs);
      return 1;
    }
    host.remove(topic);
    this.removed++;
    return REMOVAL_COST;
  }

  private drained(): void {
    if (this.removed > 0) this.log.debug({ removed: this.removed }, "removed idle topics");
    this.removed = 0;
  }
}
