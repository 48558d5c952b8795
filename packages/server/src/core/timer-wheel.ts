/**
 * One timer for many deadlines (issue 11): a wheel of coarse slots driven by one timer of the
 * injected {@link Clock}, instead of one clock timer per connection. Keep-alive and connect timeouts
 * of 100,000 idle connections then cost one entry in a slot each, not 100,000 runtime timers, and a
 * keep-alive that is pushed back by traffic costs nothing until its slot comes round.
 *
 * An entry is due at an exact clock time and is never run before it. The wheel wakes at the earliest
 * due time it holds, but at most once per `spacingMs`: when deadlines crowd, an entry runs up to
 * `spacingMs` late, together with the others then due. A wake-up examines only the slots that came
 * round since the last one (entries of a later turn of the wheel stay where they are), so its cost
 * follows what is due, not how many entries are held.
 */
import type { Clock, Timer } from "./ports.js";

/** Something the wheel runs when it falls due (a method, so no closure per entry). */
export interface WheelEntry {
  /** The wheel's bookkeeping: the clock time the entry is due at (NaN while not scheduled). */
  wheelAt: number;
  /** Called once when the entry falls due (it is no longer scheduled then and may schedule itself again). */
  wheelDue(now: number): void;
}

/** `wheelAt` of an entry taken out of its slot by the wake-up under way, not run yet. */
const COLLECTED = -Infinity;

/** Slots of a wheel (a turn is `SLOTS * slotMs`; later deadlines wait in their slot for their turn). */
const SLOTS = 256;

/** A timer wheel; see the module comment. */
export class TimerWheel<E extends WheelEntry = WheelEntry> {
  private readonly slots: (Set<E> | undefined)[] = new Array<Set<E> | undefined>(SLOTS);
  private held = 0;
  private timer: Timer | undefined;
  /** Clock time the timer is armed for (Infinity when none). */
  private armedAt = Infinity;
  /** Clock time of the last wake-up. */
  private lastWake = -Infinity;
  /** Slot number (time / slotMs) up to which every slot has been examined. */
  private examined = -Infinity;
  private readonly wakeFn = (): void => this.wake();

  /**
   * @param clock - the clock that drives the wheel (a FakeClock in tests)
   * @param slotMs - the width of a slot in ms
   * @param spacingMs - the least time between two wake-ups
   */
  constructor(
    private readonly clock: Clock,
    private readonly slotMs = 1000,
    private readonly spacingMs = 100,
  ) {}

  /** How many entries are scheduled. */
  get size(): number {
    return this.held;
  }

  /** Schedules `entry` (again) to fall due at clock time `at`. */
  schedule(entry: E, at: number): void {
    const previous = entry.wheelAt;
    if (!Number.isNaN(previous) && previous !== COLLECTED) this.cancel(entry);
    entry.wheelAt = at;
    const n = Math.floor(at / this.slotMs);
    const i = n % SLOTS;
    (this.slots[i] ??= new Set()).add(entry);
    this.held++;
    // A slot already examined comes round again only a turn later: look at it on the next wake-up.
    if (n <= this.examined) this.examined = n - 1;
    if (at < this.armedAt) this.arm(at);
  }

  /** Unschedules `entry` (nothing happens when it is not scheduled). */
  cancel(entry: E): void {
    const at = entry.wheelAt;
    if (Number.isNaN(at)) return;
    entry.wheelAt = NaN;
    // Taken out of its slot by the wake-up under way: marking it is enough for it not to run.
    if (at === COLLECTED) return;
    const i = Math.floor(at / this.slotMs) % SLOTS;
    const slot = this.slots[i];
    if (slot?.delete(entry)) {
      this.held--;
      if (slot.size === 0) this.slots[i] = undefined;
    }
    if (this.held === 0) this.disarm();
  }

  /** Stops the wheel's timer; the entries stay scheduled but nothing runs until the next schedule. */
  stop(): void {
    this.disarm();
  }

  private disarm(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
  }

  /** Arms the clock timer for `at` (not sooner than `spacingMs` after the last wake-up). */
  private arm(at: number): void {
    const when = Math.max(at, this.lastWake + this.spacingMs);
    if (this.timer && when >= this.armedAt) return;
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.armedAt = when;
    this.timer = this.clock.setTimeout(this.wakeFn, Math.max(0, when - this.clock.now()));
    this.timer.unref?.();
  }

  private wake(): void {
    this.timer = undefined;
    this.armedAt = Infinity;
    const now = this.clock.now();
    this.lastWake = now;
    const last = Math.floor(now / this.slotMs);
    // The slots that came round since the last wake-up (at most one turn), the current one included.
    const first = Math.max(this.examined + 1, last - SLOTS + 1);
    let due: E[] | undefined;
    let failure: { err: unknown } | undefined;
    for (let n = first; n <= last; n++) {
      const i = n % SLOTS;
      const slot = this.slots[i];
      if (!slot) continue;
      for (const entry of slot) {
        if (entry.wheelAt > now) continue;
        slot.delete(entry);
        this.held--;
        (due ??= []).push(entry);
      }
      if (slot.size === 0) this.slots[i] = undefined;
    }
    // The current slot stays open: entries later in it are looked at again on the next wake-up.
    this.examined = last - 1;
    if (due) {
      // In due order (ties in the order they were scheduled: the sort is stable). An entry cancelled
      // or scheduled again by one that ran before it in this wake-up does not run now.
      if (due.length > 1) due.sort((a, b) => a.wheelAt - b.wheelAt);
      for (const entry of due) entry.wheelAt = COLLECTED;
      for (const entry of due) {
        if (entry.wheelAt !== COLLECTED) continue;
        entry.wheelAt = NaN;
        // One entry that throws must not keep the others from running, nor stop the wheel (issue 14
        // §4): the first error is thrown on once the wheel is armed again, for the clock to contain.
        try {
          entry.wheelDue(now);
        } catch (err) {
          failure ??= { err };
        }
      }
    }
    // Also when an entry that ran scheduled itself again (arming the timer for its own, later, time):
    // an entry not yet due in the current slot may be earlier (arm keeps the earlier of the two).
    if (this.held > 0) this.arm(this.nextDue(now));
    if (failure !== undefined) throw failure.err;
  }

  /**
   * The earliest due time held, found from the current slot on: the first slot with an entry of its
   * own turn gives it; entries of later turns only bound it.
   */
  private nextDue(now: number): number {
    let best = Infinity;
    const start = Math.floor(now / this.slotMs);
    for (let n = start; n < start + SLOTS; n++) {
      const slot = this.slots[n % SLOTS];
      if (!slot) continue;
      const end = (n + 1) * this.slotMs;
      for (const entry of slot) if (entry.wheelAt < best) best = entry.wheelAt;
      if (best < end) return best;
    }
    return best;
  }
}
