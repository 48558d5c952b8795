/**
 * Server control and monitoring (`session.server`, DESIGN §9): the server's own figures (read-only,
 * `view_server`) and its log level, changed at run time without a restart (docs/operations.md "Logs").
 *
 * @module
 */
import {
  LOG_LEVELS,
  type LogLevel,
  type ServerStatus,
  SkeinError,
  serverStatusSchema,
} from "@skein/protocol";
import type { Requester } from "./results.js";

/** Server control and monitoring. */
export class ServerFeature {
  /** @internal */
  constructor(private readonly link: Requester) {}

  /**
   * The server's log level; with `level`, sets it first (for every logger of the server at once).
   *
   * @example
   * ```ts
   * await session.server.logLevel("debug"); // investigate
   * await session.server.logLevel("info");
   * ```
   * @throws SkeinError `NOT_AUTHORIZED` (setting needs `control_server`, reading `view_server`)
   */
  async logLevel(level?: LogLevel): Promise<LogLevel> {
    const value = await this.link.request(
      { type: "log_level", ...(level !== undefined && { level }) },
      "log level",
    );
    const now = (value as { level?: unknown } | undefined)?.level;
    if (typeof now !== "string" || !(LOG_LEVELS as readonly string[]).includes(now))
      throw new SkeinError("PROTOCOL_ERROR", `unexpected result of log level: ${JSON.stringify(value)}`);
    return now as LogLevel;
  }

  /**
   * The server's figures now: connections by door, counters since start (updates, MQTT messages in
   * and out, drops, requests), topic and subscription counts. Two readings give rates.
   *
   * @example
   * ```ts
   * const a = await session.server.status();
   * // later
   * const b = await session.server.status();
   * const perSecond = ((b.counters.updates - a.counters.updates) * 1000) / (b.time - a.time);
   * ```
   * @throws SkeinError `NOT_AUTHORIZED` (needs `view_server`)
   */
  async status(): Promise<ServerStatus> {
    const value = await this.link.request({ type: "server_status" }, "server_status");
    const parsed = serverStatusSchema.safeParse(value);
    if (!parsed.success) {
      throw new SkeinError("PROTOCOL_ERROR", `unexpected result of server_status: ${JSON.stringify(value)}`);
    }
    return parsed.data;
  }
}
