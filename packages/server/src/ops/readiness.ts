/**
 * Liveness and readiness (`/healthz`, `/readyz`). Ready means: the server has finished starting and is
 * not shutting down, every configured listener is up, and the store accepts writes, shown by a real
 * write (a probe record put and removed in one commit), whose result is kept for
 * {@link READY_CACHE_MS} so that frequent probes cost one commit a second at most.
 */
import type { Clock } from "../core/ports.js";
import type { Storage } from "../core/storage.js";

/** How long a store probe's result is reused (ms, on the server's clock). */
export const READY_CACHE_MS = 1000;

/** The path of the probe record; `$skein/` is reserved for the server, so no client topic collides. */
const PROBE_PATH = "$skein/readyz";

/** Where the server is in its life. */
export type Phase = "starting" | "running" | "stopping";

/** The answer of `/readyz`. */
export interface Readiness {
  /** True when ready. */
  readonly ready: boolean;
  /** Why not, one line per problem (empty when ready). */
  readonly reasons: readonly string[];
}

/** What readiness reads from the server. */
export interface ReadinessSources {
  /** The server's phase. */
  phase(): Phase;
  /** Configured listeners that are not listening (names such as `mqtt`, `http`). */
  listenersDown(): readonly string[];
  /** The store in use, if any (none: writes are not kept and always succeed). */
  store(): Storage | undefined;
  /** The server's clock. */
  readonly clock: Clock;
}

/** Checks readiness, caching the store probe briefly. */
export class ReadinessProbe {
  private storeResult: { at: number; problem: string | undefined } | undefined;
  private probing: Promise<string | undefined> | undefined;

  constructor(private readonly sources: ReadinessSources) {}

  /** Whether the server is ready now, and if not why. */
  async check(): Promise<Readiness> {
    const reasons: string[] = [];
    const phase = this.sources.phase();
    if (phase !== "running") reasons.push(phase === "starting" ? "starting" : "shutting down");
    for (const name of this.sources.listenersDown()) reasons.push(`listener ${name} is not listening`);
    const storeProblem = phase === "running" ? await this.storeProblem() : undefined;
    if (storeProblem) reasons.push(storeProblem);
    return { ready: reasons.length === 0, reasons };
  }

  /** Why the store cannot write, or undefined; a real write at most every {@link READY_CACHE_MS}. */
  private async storeProblem(): Promise<string | undefined> {
    const now = this.sources.clock.now();
    const cached = this.storeResult;
    if (cached && now - cached.at < READY_CACHE_MS) return cached.problem;
    this.probing ??= this.probe().then((problem) => {
      this.storeResult = { at: this.sources.clock.now(), problem };
      this.probing = undefined;
      return problem;
    });
    return this.probing;
  }

  private async probe(): Promise<string | undefined> {
    const store = this.sources.store();
    if (!store) return undefined;
    try {
      const record = {
        path: PROBE_PATH,
        spec: { type: "int64", properties: {} },
        value: { payload: new TextEncoder().encode(String(this.sources.clock.now())), qos: 0 },
      } as const;
      // Both writes share one commit: the probe is never left behind for a restart to load.
      await Promise.all([store.putTopic(record), store.removeTopic(PROBE_PATH)]);
      return undefined;
    } catch (err) {
      return `store cannot write: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
}
