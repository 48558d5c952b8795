/**
 * Server control (`session.server`, DESIGN §9): operations on the server itself. Today: reading and
 * changing its log level at run time, without a restart (docs/operations.md "Logs").
 *
 * @module
 */
import { LOG_LEVELS, type LogLevel, SkeinError } from "@skein/protocol";
import type { Requester } from "./results.js";

/** Server control. */
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
}
