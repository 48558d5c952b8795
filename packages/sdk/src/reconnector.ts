/**
 * The reconnection loop: attempts with exponential backoff until one succeeds, one fails for good (e.g.
 * credentials refused) or `reconnect.timeoutMs` has passed since the drop.
 *
 * @module
 */
import { SkeinError } from "@skein/protocol";
import type { Emitter } from "./emitter.js";
import type { SessionEvents } from "./events.js";
import type { ReconnectOptions } from "./options.js";

/** What the loop drives. */
export interface ReconnectHooks {
  /** One attempt: resolves when connected (welcome received). */
  attempt(): Promise<void>;
  /** Stop for good with `error`. */
  giveUp(error: SkeinError): void;
  /** True when an attempt's error means further attempts are futile. */
  isFinal(error: unknown): boolean;
}

/** The loop. At most one runs at a time. */
export class Reconnector {
  private generation = 0;
  private running = false;
  private wake: (() => void) | undefined;

  constructor(
    private readonly options: Required<ReconnectOptions>,
    private readonly delay: (attempt: number, options: Required<ReconnectOptions>) => number,
    private readonly events: Emitter<SessionEvents>,
    private readonly hooks: ReconnectHooks,
  ) {}

  /** Starts the loop unless it runs. */
  run(): void {
    if (this.running) return;
    this.running = true;
    void this.loop(++this.generation).finally(() => {
      this.running = false;
    });
  }

  /** Stops the loop (the session closed). */
  cancel(): void {
    this.generation++;
    this.wake?.();
  }

  private async loop(generation: number): Promise<void> {
    const started = Date.now();
    let last: SkeinError | undefined;
    for (let attempt = 1; generation === this.generation; attempt++) {
      const delayMs = this.delay(attempt, this.options);
      if (Date.now() - started + delayMs > this.options.timeoutMs) break;
      this.events.emit("reconnecting", { attempt, delayMs });
      await this.sleep(delayMs);
      if (generation !== this.generation) return;
      try {
        await this.hooks.attempt();
        return;
      } catch (err) {
        last = SkeinError.from(err);
        if (this.hooks.isFinal(err)) return this.hooks.giveUp(last);
      }
    }
    if (generation !== this.generation) return;
    this.hooks.giveUp(
      new SkeinError("SESSION_CLOSED", `could not reconnect within ${this.options.timeoutMs} ms`, {
        cause: last,
      }),
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      this.wake = done;
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
    });
  }
}
