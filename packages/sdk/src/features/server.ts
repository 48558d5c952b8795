/**
 * Server monitoring (`session.server`): the server's own figures, read-only. Needs `view_server`.
 *
 * @module
 */
import { type ServerStatus, SkeinError, serverStatusSchema } from "@skein/protocol";
import type { Requester } from "./results.js";

/** Reading the server's status. */
export class ServerFeature {
  /** @internal */
  constructor(private readonly link: Requester) {}

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
