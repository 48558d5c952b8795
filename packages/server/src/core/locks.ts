/** Named locks that sessions hold, used by the `locked` update constraint (DESIGN §2). */

/** Who holds which lock. */
export class LockRegistry {
  private readonly holders = new Map<string, string>();

  /** Takes `name` for `sessionId`; true when it now holds it (re-acquiring is fine). */
  acquire(name: string, sessionId: string): boolean {
    const holder = this.holders.get(name);
    if (holder !== undefined && holder !== sessionId) return false;
    this.holders.set(name, sessionId);
    return true;
  }

  /** Releases `name` if `sessionId` holds it; true when it did. */
  release(name: string, sessionId: string): boolean {
    if (this.holders.get(name) !== sessionId) return false;
    this.holders.delete(name);
    return true;
  }

  /** Releases every lock a session holds (when it closes). */
  releaseAll(sessionId: string): void {
    for (const [name, holder] of this.holders) if (holder === sessionId) this.holders.delete(name);
  }

  /** The session holding `name`, if any. */
  holder(name: string): string | undefined {
    return this.holders.get(name);
  }
}
