/**
 * The core's view of an MQTT session (DESIGN §6): its properties, and what client control may do to
 * it (close it, subscribe it to a selector).
 */
import { type ErrorCode, SkeinError, type TopicSelector, mqttReasonCode } from "@skein/protocol";
import type { IConnectPacket } from "mqtt-packet";
import type { SessionHandle, SessionSubscriptionInfo } from "../core/sessions.js";
import type { SubscriptionOptions } from "../core/types.js";
import type { MqttConnection } from "./connection.js";
import type { MqttSession } from "./session.js";
import { applyAuthentication } from "../security/authenticated.js";

/** Options of a subscription made by client control (QoS 1, nothing else asked). */
const CONTROL_SUBSCRIPTION: SubscriptionOptions = {
  qos: 1,
  noLocal: false,
  retainAsPublished: false,
  retainHandling: 0,
};

/** Builds the session handle registered with the core for a connected MQTT session. */
export function mqttSessionHandle(
  conn: MqttConnection,
  session: MqttSession,
  packet: IConnectPacket,
  auth: {
    readonly principal: string | undefined;
    readonly roles: readonly string[];
    readonly properties?: Readonly<Record<string, string>> | undefined;
  },
): SessionHandle {
  const core = conn.door.core;
  // The fixed properties first, in one literal: an object made this way holds them in itself, where
  // `{}` filled later puts all past the fourth in a second array (issue 11, memory per connection).
  const properties: Record<string, string> = {
    $SessionId: session.sessionId,
    $ClientId: conn.clientId,
    $ClientIP: conn.info.remoteAddress,
    $Transport: "mqtt",
    $StartTime: String(core.clock.now()),
    $ServerName: conn.door.serverName,
    $Principal: "",
    $Roles: "",
  };
  // MQTT 5 CONNECT user properties become the session's user properties (DESIGN §6).
  for (const [name, value] of Object.entries(packet.properties?.userProperties ?? {})) {
    if (!name.startsWith("$")) properties[name] = Array.isArray(value) ? value.join(",") : value;
  }
  // Properties an authenticator set win over the client's own (neither may set a `$` name).
  applyAuthentication(properties, auth);
  // The roles as authentication gave them, not a copy per session: security administration replaces
  // a session's roles (`handle.roles = ...`), it never changes the array.
  return new MqttSessionHandle(conn, session, properties, auth.principal, auth.roles);
}

/** The MQTT filters of a selector (client control). */
function filtersOf(selector: TopicSelector): readonly string[] {
  if (!selector.mqttFilters) {
    throw new SkeinError(
      "INVALID_SELECTOR",
      `${selector.expression} cannot be expressed as MQTT topic filters`,
    );
  }
  return selector.mqttFilters;
}

/** A connected MQTT session as the core sees it (a class: no closures per connection, issue 11). */
class MqttSessionHandle implements SessionHandle {
  readonly sessionId: string;
  readonly transport = "mqtt" as const;
  readonly clientId: string;

  constructor(
    private readonly conn: MqttConnection,
    private readonly session: MqttSession,
    readonly properties: Record<string, string>,
    readonly principal: string | undefined,
    public roles: readonly string[],
  ) {
    this.sessionId = session.sessionId;
    this.clientId = conn.clientId;
  }

  /** 0x98 Administrative action; a removed principal's session 0x87 Not authorized (docs/security.md). */
  close(reason: string, code?: ErrorCode): void {
    this.conn.close({ reason: code === undefined ? 0x98 : mqttReasonCode(code), message: reason });
  }

  subscribe(selector: TopicSelector): void {
    const session = this.session;
    const facade = this.conn.door.core.facade;
    for (const filter of filtersOf(selector)) {
      // Checked against the session's own select_topic: client control never subscribes a session to
      // what it could not subscribe to itself.
      facade.subscribe(session.actor, filter, undefined, session, CONTROL_SUBSCRIPTION);
      session.addSubscription({
        key: filter,
        filter,
        shareGroup: undefined,
        options: CONTROL_SUBSCRIPTION,
      });
      // Subscribed as if it had subscribed itself (docs/messaging.md): the current values follow as
      // retained PUBLISHes [MQTT-3.3.1-9], paced like a SUBSCRIBE's.
      session.replay(filter, facade.retained(session.actor, filter), CONTROL_SUBSCRIPTION.qos, undefined);
    }
    session.drain();
  }

  unsubscribe(selector: TopicSelector): void {
    const session = this.session;
    const facade = this.conn.door.core.facade;
    for (const filter of filtersOf(selector)) {
      if (session.removeSubscription(filter)) facade.unsubscribe(session.actor, filter, undefined, session);
    }
  }

  /** The session's subscriptions, for client control (`clients.getSubscriptions`). */
  subscriptions(): SessionSubscriptionInfo[] {
    const out: SessionSubscriptionInfo[] = [];
    for (const { filter, shareGroup, options } of this.session.subscriptions.values()) {
      out.push({ subscription: filter, qos: options.qos, ...(shareGroup !== undefined && { shareGroup }) });
    }
    return out;
  }
}
