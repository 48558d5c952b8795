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
  const startTime = conn.door.core.clock.now();
  const handle = new MqttSessionHandle(conn, session, startTime, auth.principal, auth.roles);
  // With user properties (the client's or an authenticator's) the record is made now; without, which
  // is most sessions, on its first read (issue 11: about 120 bytes a session that nothing may ask for).
  const userProperties = packet.properties?.userProperties;
  if (hasAny(userProperties) || hasAny(auth.properties)) handle.makeProperties(userProperties, auth);
  return handle;
}

function hasAny(record: object | undefined): boolean {
  return record !== undefined && Object.keys(record).length > 0;
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
  /** {@link properties}, once made. */
  private props: Record<string, string> | undefined;

  constructor(
    private readonly conn: MqttConnection,
    private readonly session: MqttSession,
    /** Epoch ms of the CONNECT (`$StartTime`). */
    private readonly startTime: number,
    readonly principal: string | undefined,
    public roles: readonly string[],
  ) {}

  // Read from the session, not copied into each handle (8 bytes a field per connection, issue 11).
  get sessionId(): string {
    return this.session.sessionId;
  }

  get clientId(): string {
    return this.session.clientId;
  }

  get transport(): "mqtt" {
    return "mqtt";
  }

  /** Fixed (`$`-prefixed) and user properties: made on first read, then changed in place. */
  get properties(): Record<string, string> {
    return this.props ?? this.makeProperties(undefined, { principal: this.principal, roles: this.roles });
  }

  /**
   * Makes the properties record: the fixed ones, the CONNECT's user properties, then what the
   * authentication gave (made on first read: the handle's principal and its roles, which security
   * administration keeps current).
   */
  makeProperties(
    userProperties: Readonly<Record<string, string | string[]>> | undefined,
    auth: {
      readonly principal: string | undefined;
      readonly roles: readonly string[];
      readonly properties?: Readonly<Record<string, string>> | undefined;
    },
  ): Record<string, string> {
    const conn = this.conn;
    // The fixed properties first, in one literal: an object made this way holds them in itself, where
    // `{}` filled later puts all past the fourth in a second array (issue 11, memory per connection).
    const properties: Record<string, string> = {
      $SessionId: this.session.sessionId,
      $ClientId: this.session.clientId,
      $ClientIP: conn.remoteAddress,
      $Transport: "mqtt",
      $StartTime: String(this.startTime),
      $ServerName: conn.door.serverName,
      $Principal: "",
      $Roles: "",
    };
    // MQTT 5 CONNECT user properties become the session's user properties (DESIGN §6).
    for (const [name, value] of Object.entries(userProperties ?? {})) {
      if (!name.startsWith("$")) properties[name] = Array.isArray(value) ? value.join(",") : value;
    }
    // Properties an authenticator set win over the client's own (neither may set a `$` name).
    applyAuthentication(properties, auth);
    this.props = properties;
    return properties;
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
    for (const { filter, shareGroup, options } of this.session.subscriptionList()) {
      out.push({ subscription: filter, qos: options.qos, ...(shareGroup !== undefined && { shareGroup }) });
    }
    return out;
  }
}
