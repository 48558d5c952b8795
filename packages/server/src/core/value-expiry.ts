/**
 * MQTT 5 Message Expiry of retained values runs from a timer wheel (issue 11: expiry touches only
 * what is due). A value with an expiry is cleared when its time comes, so that a retained message no
 * subscriber asks for stops holding memory and its session's retained quota; before, it was cleared
 * only when a subscription came to read it. Reads still skip an expired value that the wheel has not
 * reached yet (it may run up to a slot late) [MQTT-3.3.2-5].
 *
 * One wheel entry per topic whose value expires (a replaced value moves the topic's entry; a value
 * without expiry takes it out), so frequent updates leave nothing behind in the wheel. What falls due
 * at once is cleared in slices ({@link DueQueue}). Clearing is the core's business (the host): it
 * changes the value in memory, and the store's own sweep drops expired values from disk.
 */
import { DueQueue } from "./due-queue.js";
import type { Clock } from "./ports.js";
import { TimerWheel, type WheelEntry } from "./timer-wheel.js";
import type { Topic } from "./types.js";

/** Values cleared per timer turn at most. */
const BUDGET = 5000;

/** What the schedule asks of the core. */
export interface ValueExpiryHost {
  /** True while `topic` is in the tree. */
  isLive(topic: Topic): boolean;
  /** Clears `topic`'s value (which expired). */
  clear(topic: Topic): void;
}

/** A topic's place in the wheel: due when its value expires. */
class ExpiryEntry implements WheelEntry {
  wheelAt = NaN;

  constructor(
    readonly topic: Topic,
    private readonly owner: ValueExpiry,
  ) {}

  wheelDue(): void {
    this.owner.fellDue(this);
  }
}

/** The topics whose value has an expiry, each due when it expires. */
export class ValueExpiry {
  private readonly wheel: TimerWheel<ExpiryEntry>;
  private readonly entries = new Map<Topic, ExpiryEntry>();
  private readonly due: DueQueue<ExpiryEntry>;

  constructor(
    clock: Clock,
    private readonly host: ValueExpiryHost,
  ) {
    this.wheel = new TimerWheel(clock, 1000, 100);
    this.due = new DueQueue(clock, BUDGET, (entry, now) => this.expire(entry, now));
  }

  /** Topics whose value waits to expire. */
  get size(): number {
    return this.entries.size;
  }

  /** `topic`'s value changed (or went): due when the new value expires, if it does. */
  valueSet(topic: Topic): void {
    const at = topic.value?.expiresAt;
    let entry = this.entries.get(topic);
    if (at === undefined) {
      if (entry === undefined) return;
      this.wheel.cancel(entry);
      this.entries.delete(topic);
      return;
    }
    if (entry === undefined) {
      entry = new ExpiryEntry(topic, this);
      this.entries.set(topic, entry);
    }
    this.wheel.schedule(entry, at);
  }

  /** The wheel's call: `entry` fell due; cleared in the next slice. */
  fellDue(entry: ExpiryEntry): void {
    this.due.push(entry);
  }

  /** Stops: nothing more is cleared. */
  stop(): void {
    this.wheel.stop();
    this.due.stop();
  }

  private expire(entry: ExpiryEntry, now: number): number {
    // Scheduled again by a newer value since it fell due: that schedule stands.
    if (!Number.isNaN(entry.wheelAt)) return 1;
    const topic = entry.topic;
    const at = topic.value?.expiresAt;
    if (!this.host.isLive(topic) || at === undefined) {
      if (this.entries.get(topic) === entry) this.entries.delete(topic);
      return 1;
    }
    if (at > now) {
      this.wheel.schedule(entry, at);
      return 1;
    }
    // Clearing calls valueSet, which takes the entry out.
    this.host.clear(topic);
    return 1;
  }
}
