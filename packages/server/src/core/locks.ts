/** Named locks that sessions hold, used by the `locked` update constraint (DESIGN §2). */
import { SkeinError } from "@skein/protocol";

/** Who holds which lock. */
export class LockRegistry {
  private readonly holders = new Map<string, string>();
  /** How many locks each holding session holds. */
  private readonly held = new Map<string, number>();

  /** @param maxPerSession - most locks one session may hold (issue 14 §4) */
  constructor(private readonly maxPerSession = Infinity) {}

  /**
   * Takes `name` for `sessionId`; true when it now holds it (re-acquiring is fine), false when another
   * session holds it.
   * @throws SkeinError `RATE_LIMITED` when the session already holds its maximum of locks
   */
  acquire(name: string, sessionId: string): boolean {
    const holder = this.holders.get(name);
    if (holder === sessionId) return true;
    if (holder !== undefined) return false;
    const count = this.held.get(sessionId) ?? 0;
    if (count >= this.maxPerSession)
      throw new SkeinError("RATE_LIMITED", `a session holds at most ${this.maxPerSession} locks`);
    this.holders.set(name, sessionId);
    this.held.set(sessionId, count + 1);
    return true;
  }

  /** Releases `name` if `sessionId` holds it; true when it did. */
  release(name: string, sessionId: string): boolean {
    if (this.holders.get(name) !== sessionId) return false;
    this.holders.delete(name);
    const count = (this.held.get(sessionId) ?? 1) - 1;
    if (count > 0) this.held.set(sessionId, count);
    else this.held.delete(sessionId);
    return true;
  }

  /** Releases every lock a session holds (when it closes). */
  releaseAll(sessionId: string): void {
    if (!this.held.delete(sessionId)) return;
    for (const [name, holder] of this.holders) if (holder === sessionId) this.holders.delete(name);
  }

  /** The session holding `name`, if any. */
  holder(name: string): string | undefined {
    return this.holders.get(name);
  }
}
