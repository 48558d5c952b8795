/**
 * The delivery check of DESIGN §7: a session without `read_topic` on a path receives nothing from it.
 * It runs once per delivery, so its answer is cached per session and path, and the cache is dropped
 * whenever the security store changes ({@link Authorizer.version}).
 */
import type { Actor, Authorizer } from "../security/types.js";

/**
 * Paths remembered per session before its cache starts over. Bounds the memory a session that
 * receives from very many topics can hold (a few tens of bytes an entry); past it, decisions are
 * simply asked again.
 */
export const READ_CACHE_PATHS = 4096;

/** Cached `read_topic` decisions, per acting session and path. */
export class ReadGate {
  private cache = new WeakMap<Actor, Map<string, boolean>>();
  private version: number;

  constructor(private readonly authorizer: Authorizer) {
    this.version = authorizer.version;
  }

  /**
   * True when `actor` may read `path`. Cached per actor object (not per role set: an authorizer may
   * substitute the principal or client id into its paths, so two sessions with the same roles can
   * differ).
   */
  mayRead(actor: Actor, path: string): boolean {
    const authorizer = this.authorizer;
    if (authorizer.version !== this.version) {
      this.version = authorizer.version;
      this.cache = new WeakMap();
    }
    let paths = this.cache.get(actor);
    if (paths === undefined) this.cache.set(actor, (paths = new Map()));
    let allowed = paths.get(path);
    if (allowed === undefined) {
      if (paths.size >= READ_CACHE_PATHS) paths.clear();
      allowed = authorizer.authorize(actor, "read_topic", path);
      paths.set(path, allowed);
    }
    return allowed;
  }
}
