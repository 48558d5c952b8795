/**
 * A clock moved by hand, for `createServer(config, { clock })`: the server's timers (keep-alive,
 * connect timeout, will delay, session expiry, message expiry, SDK reconnection timeout, request
 * timeouts, removal sweeps, $SYS) fire only when a test calls {@link FakeClock.advance}, so a test
 * waits for the event a timer causes (a close, a packet, a message) instead of for real time.
 *
 * Sockets stay real (unlike `vi.useFakeTimers()`): only what the server asks of its clock is fake.
 */
import type { Clock, Timer } from "../src/index.js";

/** A timer of a {@link FakeClock}. */
interface FakeTimer extends Timer {
  /** Clock time at which it fires. */
  readonly at: number;
  /** Order of creation: timers due at the same time fire in the order they were set. */
  readonly seq: number;
  readonly fn: () => void;
  readonly ms: number;
}

/** A {@link Clock} whose time moves only through {@link FakeClock.advance}. */
export class FakeClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers = new Set<FakeTimer>();

  /** @param start - the epoch ms the clock starts at (default: the real time now) */
  constructor(start = Date.now()) {
    this.time = start;
  }

  /** Clock: the current (fake) epoch ms. */
  now(): number {
    return this.time;
  }

  /** Clock: arms `fn` to run when the clock passes `ms` from now. */
  setTimeout(fn: () => void, ms: number): Timer {
    const timer: FakeTimer = { at: this.time + Math.max(0, ms), seq: this.seq++, fn, ms, unref: () => timer };
    this.timers.add(timer);
    return timer;
  }

  /** Clock: disarms a timer (a fired or unknown one is ignored). */
  clearTimeout(timer: Timer): void {
    this.timers.delete(timer as FakeTimer);
  }

  /** How many timers are armed; with `ms`, only those set for that many milliseconds. */
  armed(ms?: number): number {
    let n = 0;
    for (const t of this.timers) if (ms === undefined || t.ms === ms) n++;
    return n;
  }

  /**
   * Moves time forward by `ms`, firing every timer that falls due on the way in time order (ties in
   * the order they were set), each with the clock at its own due time; timers that a firing timer
   * arms fire too if they fall due within the step.
   */
  advance(ms: number): void {
    const end = this.time + ms;
    for (let guard = 0; ; guard++) {
      if (guard > 100_000) throw new Error("FakeClock.advance: timers keep re-arming at the same time");
      let due: FakeTimer | undefined;
      for (const t of this.timers) {
        if (t.at <= end && (!due || t.at < due.at || (t.at === due.at && t.seq < due.seq))) due = t;
      }
      if (!due) break;
      this.timers.delete(due);
      this.time = Math.max(this.time, due.at);
      due.fn();
    }
    this.time = end;
  }
}
