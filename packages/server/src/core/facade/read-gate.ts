/**
 * The delivery check of DESIGN §7: a session without `read_topic` on a path receives nothing from it.
 * It runs once per delivery, so its answer is cached per session and path, and the cache is dropped
 * whenever the security store changes ({@link Authorizer.version}).
 */
import type { Actor, Authorizer } from "../security/types.js";
import type { ReadCache, Subscriber } from "../types.js";

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
    return decide(authorizer, actor, paths, path);
  }

  /**
   * The per-delivery form of {@link mayRead}: the decisions live on the subscriber itself, and the
   * last one is kept at hand, so a fan-out of one update costs a comparison per subscriber (measured:
   * see docs/performance.md "Cost of the permission checks").
   */
  mayDeliver(subscriber: Subscriber, actor: Actor, path: string): boolean {
    const version = this.authorizer.version;
    let cache: ReadCache | undefined = subscriber.readCache;
    if (cache === undefined || cache.version !== version || cache.actor !== actor) {
      cache = { version, actor, lastPath: "", lastAllowed: false, paths: new Map() };
      subscriber.readCache = cache;
    } else if (cache.lastPath === path) return cache.lastAllowed;
    const allowed = decide(this.authorizer, actor, cache.paths, path);
    cache.lastPath = path;
    cache.lastAllowed = allowed;
    return allowed;
  }
}

/** The cached decision for `path`, asking the authorizer on a miss (an empty path is never a topic). */
function decide(authorizer: Authorizer, actor: Actor, paths: Map<string, boolean>, path: string): boolean {
  let allowed = paths.get(path);
  if (allowed === undefined) {
    if (paths.size >= READ_CACHE_PATHS) paths.clear();
    allowed = authorizer.authorize(actor, "read_topic", path);
    paths.set(path, allowed);
  }
  return allowed;
}
