/**
 * The SDK door: WebSocket connections at `/sdk` speaking MessagePack frames, sessions that survive a
 * dropped connection, and the bridge from core topic events to the sessions that select them.
 */
import type { IncomingMessage } from "node:http";
import {
  CloseCodes,
  type Encoder,
  type LogLevel,
  type ErrorCode,
  type TopicSelector,
  createMsgpackEncoder,
  errorCodeNumber,
} from "@skein/protocol";
import type { SessionHandle, SessionSubscriptionInfo } from "../core/sessions.js";
import type { Core } from "../core/core.js";
import type { Counter } from "../core/metrics.js";
import type { Logger } from "../core/ports.js";
import type { PathLimits } from "../core/types.js";
import type { Credentials } from "../core/security/types.js";
import { TimerWheel } from "../core/timer-wheel.js";
import { SdkConnection } from "./connection.js";
import type { SdkOptions } from "./options.js";
import type { ReplayGauges } from "./replay.js";
import { SdkSession } from "./session.js";
import type { SdkWebSocket } from "./websocket.js";

/** The SDK door of a server. */
export class SdkDoor {
  readonly sessions = new Map<string, SdkSession>();
  readonly connections = new Set<SdkConnection>();
  readonly encoder: Encoder = createMsgpackEncoder();
  readonly log: Logger;
  /** Handshake timeouts and heartbeats of every connection: one timer, not one per connection (issue 11). */
  readonly timers: TimerWheel<SdkConnection>;
  /** When the door was made (the server's start), on the core's clock: `server_status` reports uptime from it. */
  readonly startedAt: number;
  private readonly stopListening: () => void;

  /** What every session's replay buffer holds, summed. */
  private readonly replayGauges: ReplayGauges;
  /**
   * Reads the server's log level, setting it first when `level` is given (the `log_level` frame); the
   * server replaces it with one that reaches its logger.
   */
  logLevel: (level?: LogLevel) => LogLevel = () => "info";

  /** Hot-path counters: frames and bytes in and out. */
  readonly counters: Readonly<
    Record<"framesReceived" | "framesSent" | "bytesReceived" | "bytesSent", Counter>
  >;

  constructor(
    readonly core: Core,
    readonly options: SdkOptions,
    /** Topic length and depth bounds, the same for both doors. */
    readonly pathLimits: PathLimits,
    logger: Logger,
  ) {
    this.log = logger.child({ door: "sdk" });
    this.timers = new TimerWheel(core.clock);
    this.startedAt = core.clock.now();
    this.replayGauges = {
      frames: core.metrics.counter("sdk_replay_frames"),
      bytes: core.metrics.counter("sdk_replay_bytes"),
    };
    this.counters = {
      framesReceived: core.metrics.counter("sdk_frames_received_total"),
      framesSent: core.metrics.counter("sdk_frames_sent_total"),
      bytesReceived: core.metrics.counter("sdk_bytes_received_total"),
      bytesSent: core.metrics.counter("sdk_bytes_sent_total"),
    };
    // Only the sessions whose selections match the path hear of it: the subscription index finds them,
    // so creating or removing a topic costs the matching selections, not every session (issue 11).
    this.stopListening = core.facade.onTopics({
      added: (topic, subscribers) => {
        for (const s of subscribers) {
          if (s instanceof SdkSession) s.topicAdded(topic);
        }
      },
      removed: (topic, subscribers) => {
        for (const s of subscribers) {
          if (s instanceof SdkSession) s.topicRemoved(topic);
        }
      },
    });
  }

  /** A session ended: it leaves the door (one function for every session). */
  private readonly sessionEnded = (s: SdkSession): void => {
    this.sessions.delete(s.sessionId);
    this.core.metrics.set("sdk_sessions", this.sessions.size);
  };

  /** Takes a new WebSocket from the listener, with the client certificate its TLS layer verified. */
  accept(ws: SdkWebSocket, req: IncomingMessage, certificate?: Credentials["certificate"]): SdkConnection {
    const conn = new SdkConnection(this, ws, req.socket.remoteAddress ?? "", certificate);
    this.connections.add(conn);
    this.core.metrics.set("sdk_connections", this.connections.size);
    this.core.metrics.inc("sdk_connections_total");
    return conn;
  }

  /**
   * A new session of an authenticated client, registered with the door and the core. `properties` becomes
   * the session's record (its `$` properties are set here), so it must be the caller's own new object.
   */
  newSession(
    sessionId: string,
    token: string,
    properties: Record<string, string>,
    auth: { readonly principal: string | undefined; readonly roles: readonly string[] },
  ): SdkSession {
    // Set in place, not copied with a spread (whose result would get a hidden class of its own).
    const props = properties;
    props.$SessionId = sessionId;
    props.$Principal = auth.principal ?? "";
    props.$Roles = auth.roles.join(",");
    props.$ServerName = this.options.serverName;
    const session = new SdkSession(
      sessionId,
      token,
      props,
      this.core,
      this.encoder,
      this.options,
      this.sessionEnded,
      this.replayGauges,
    );
    this.sessions.set(sessionId, session);
    // The roles as given (a handle's roles are replaced, never changed in place: no copy per session).
    const handle = new SdkSessionHandle(this, session, props, auth.principal, auth.roles);
    session.actor = handle;
    this.core.facade.openSession(handle);
    this.core.metrics.set("sdk_sessions", this.sessions.size);
    return session;
  }

  /**
   * The session a hello asks to resume, when it can be: known, same token, and every frame after
   * `received` still held. A session that cannot be resumed ends; the caller starts a new one.
   */
  resume(
    conn: SdkConnection,
    resume: { sessionId: string; token: string; received: number },
  ): SdkSession | undefined {
    const session = this.sessions.get(resume.sessionId);
    if (!session || session.token !== resume.token) {
      this.core.metrics.inc("sdk_resumptions_total", { outcome: "unknown" });
      return undefined;
    }
    if (!session.replay.covers(resume.received)) {
      this.core.metrics.inc("sdk_resumptions_total", { outcome: "gap" });
      conn.log.info({ sessionId: session.sessionId }, "session cannot be resumed: frames no longer held");
      session.end();
      return undefined;
    }
    // A half-open older connection of the same session is taken over.
    session.link?.close(CloseCodes.TAKEN_OVER, "session resumed by another connection");
    this.core.metrics.inc("sdk_resumptions_total", { outcome: "resumed" });
    return session;
  }

  /** Bookkeeping when a connection ends; `ended` when the client closed deliberately. */
  connectionClosed(conn: SdkConnection, ended: boolean): void {
    if (!this.connections.delete(conn)) return;
    this.core.metrics.set("sdk_connections", this.connections.size);
    const session = conn.session;
    if (!session || session.link !== conn) return;
    if (ended) {
      session.link = undefined;
      session.end();
    } else session.detach();
  }

  /** A `goodbye` frame: the server is closing the session with `code`. */
  goodbye(code: ErrorCode, message: string): Uint8Array {
    return this.encoder.encode({ type: "goodbye", code: errorCodeNumber(code), message });
  }

  /** Closes every connection and ends every session (server shutdown). */
  shutdown(): void {
    this.stopListening();
    this.timers.stop();
    const goodbye = this.encoder.encode({
      type: "goodbye",
      code: errorCodeNumber("SERVER_SHUTTING_DOWN"),
      message: "server shutting down",
    });
    for (const conn of [...this.connections]) {
      conn.send(goodbye);
      conn.close(CloseCodes.SHUTTING_DOWN, "server shutting down");
    }
    for (const session of [...this.sessions.values()]) session.end();
  }
}

/** The core's handle of an SDK session (methods, not closures per session). */
class SdkSessionHandle implements SessionHandle {
  readonly transport = "sdk";
  readonly sessionId: string;

  constructor(
    private readonly door: SdkDoor,
    private readonly session: SdkSession,
    readonly properties: Record<string, string>,
    readonly principal: string | undefined,
    public roles: readonly string[],
  ) {
    this.sessionId = session.sessionId;
  }

  close(reason: string, code?: ErrorCode): void {
    const session = this.session;
    // Why, when it is not a plain administrative close: a goodbye with the code (PRINCIPAL_REMOVED).
    if (code !== undefined) session.link?.send(this.door.goodbye(code, reason));
    if (session.link) session.link.close(CloseCodes.CLOSED_BY_SERVER, reason);
    session.end();
  }

  subscribe(selector: TopicSelector): void {
    void this.session.select(selector);
  }

  unsubscribe(selector: TopicSelector): void {
    void this.session.unselect(selector.expression);
  }

  subscriptions(): readonly SessionSubscriptionInfo[] {
    return this.session.selectionExpressions().map((subscription) => ({ subscription }));
  }
}
