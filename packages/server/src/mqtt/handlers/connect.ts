/**
 * CONNECT: check the request, settle the client identifier, take over or resume the session, store the
 * will, answer CONNACK, then re-send what was in flight. Written as a short list of steps.
 */
import mqtt from "mqtt-packet";
import type { IConnectPacket, IConnackPacket } from "mqtt-packet";
import { isReservedForServer } from "@skein/protocol";
import { logsAt } from "../../core/ports.js";
import { newSessionId } from "../../core/sessions.js";
import type { AuthenticationOutcome } from "../../core/security/authentication.js";
import type { Actor, Credentials } from "../../core/security/types.js";
import type { MqttConnection } from "../connection.js";
import { Reason, connackV3Code, reasonName } from "../reason-codes.js";
import type { MqttSession } from "../session.js";
import { mqttSessionHandle } from "../session-handle.js";
import { restoreHandlers } from "../messaging.js";
import { isUtf8Payload, topicNameProblem } from "../checks.js";
import { toUpdate } from "../to-update.js";
import { countUserProperties } from "../user-properties.js";

/** Handles the CONNECT packet [MQTT-3.1]. */
export function handleConnect(conn: MqttConnection, packet: IConnectPacket): void {
  conn.protocolVersion = packet.protocolVersion === 5 ? 5 : 4;
  conn.parserVersion = packet.protocolVersion ?? 4;
  const violation = connectViolation(packet);
  if (violation !== undefined) return conn.malformed(violation.message, undefined, violation.reason);
  // Request Problem Information 0 is honoured on a refusing CONNACK too (MQTT 5 §3.1.2.11.7).
  if (packet.properties?.requestProblemInformation === false) conn.problemInformation = false;
  const refusal = checkConnect(conn, packet);
  if (refusal !== undefined) return refuse(conn, refusal.reason, refusal.message);
  const assigned = settleClientId(conn, packet);
  if (assigned === false)
    return refuse(conn, Reason.CLIENT_IDENTIFIER_NOT_VALID, "empty client id needs clean session");
  authenticateConnect(conn, packet, assigned);
}

/** An accepted authentication's outcome. */
type Authenticated = Extract<AuthenticationOutcome, { ok: true }>;

/**
 * Authenticates the CONNECT's user name and password [MQTT-3.1.4-2]: at once when no credentials
 * need checking, otherwise asynchronously (scrypt, authenticators) with the connection's input paused,
 * so nothing it sends meanwhile is handled before the CONNACK. Refused: v5 CONNACK 0x86 Bad User Name
 * or Password / 0x87 Not authorized, 3.1.1 return code 4 / 5 [MQTT-3.2.2-6]; never anonymous instead.
 */
function authenticateConnect(
  conn: MqttConnection,
  packet: IConnectPacket,
  assigned: boolean | undefined,
): void {
  const facade = conn.door.core.facade;
  const credentials: Credentials = {
    transport: "mqtt",
    principal: packet.username,
    password: packet.password,
    clientId: conn.clientId,
    remoteAddress: conn.info.remoteAddress,
    certificate: conn.info.certificate,
  };
  // No closure per CONNECT on the common path (issue 11, CPU per connection): answered at once.
  const now = facade.authenticateNow(credentials);
  if (now !== undefined) return settleAuthentication(conn, packet, assigned, now);
  conn.pauseForAuthentication();
  void facade.authenticate(credentials).then((outcome) => {
    if (conn.closed) return;
    try {
      settleAuthentication(conn, packet, assigned, outcome);
    } catch (err) {
      conn.failed(err, "connect");
      return;
    }
    conn.resumeAfterAuthentication();
  });
}

/** Accepts an authenticated CONNECT, or refuses it with the outcome's reason. */
function settleAuthentication(
  conn: MqttConnection,
  packet: IConnectPacket,
  assigned: boolean | undefined,
  outcome: AuthenticationOutcome,
): void {
  if (outcome.ok) return accept(conn, packet, assigned, outcome);
  if (outcome.reason === "bad_credentials")
    return refuse(conn, Reason.BAD_USER_NAME_OR_PASSWORD, "bad user name or password");
  refuse(conn, Reason.NOT_AUTHORIZED, "not authorized");
}

/** The owner of every anonymous session (one object for all, issue 11). */
const ANONYMOUS_OWNER = { principal: undefined } as const;

/** The rest of CONNECT, once authenticated: limits, session, will, keep alive, CONNACK. */
function accept(
  conn: MqttConnection,
  packet: IConnectPacket,
  assigned: boolean | undefined,
  auth: Authenticated,
): void {
  // A session (connected or kept offline) belongs to its principal: another one may neither take it
  // over nor read what is queued for it (the server may refuse a CONNECT, [MQTT-3.1.4-2]).
  const owner = conn.door.sessions.get(conn.clientId)?.owner;
  if (owner !== undefined && owner.principal !== auth.principal)
    return refuse(conn, Reason.NOT_AUTHORIZED, "the client id belongs to another principal");
  if (!willAllowed(conn, packet, auth))
    return refuse(conn, Reason.NOT_AUTHORIZED, "not authorized to publish the will topic");
  applyClientLimits(conn, packet);
  const { session, present } = takeSession(conn, packet, auth);
  const grantedExpiry = settleExpiry(conn, packet, session);
  setWill(conn, packet, session);
  // A session that outlives its connection is kept by the core from now on (docs/durability.md).
  session.keep(conn.protocolVersion === 5 ? 5 : 4);
  const serverKeepAlive = settleKeepAlive(conn, packet);
  conn.state = "connected";
  conn.authenticated = auth;
  conn.connectAccepted();
  sendConnack(conn, {
    present,
    assigned: assigned === true ? conn.clientId : undefined,
    grantedExpiry,
    serverKeepAlive,
  });
  conn.startKeepAlive();
  conn.expireWithCredentials();
  conn.door.core.metrics.connected("mqtt", "accepted");
  // Through the door's logger with the connection's fields: a connection that logs nothing else never
  // makes its own child logger (issue 11: memory per idle connection); and the fields are only put
  // together when the line is written (issue 11: CPU per connection).
  if (logsAt(conn.door.log, "info"))
    conn.door.log.info(
      {
        remote: conn.info.remoteAddress,
        transport: conn.info.transport,
        clientId: conn.clientId,
        version: conn.protocolVersion,
        present,
        principal: auth.principal,
      },
      "client connected",
    );
  session.resend();
}

interface Refusal {
  reason: number;
  message: string;
}

/**
 * A CONNECT the spec calls malformed or a protocol error, which closes the connection (v5 after a
 * CONNACK with the reason [MQTT-4.13.1-1]) rather than being refused with a return code.
 */
function connectViolation(packet: IConnectPacket): Refusal | undefined {
  // Will QoS 3 [MQTT-3.1.2-14]; MQTT 5 calls it a Malformed Packet (§3.1.2.6).
  if (packet.will && (packet.will.qos as number) > 2)
    return { reason: Reason.MALFORMED_PACKET, message: "Will QoS 3" };
  // 3.1.1: no password without a user name [MQTT-3.1.2-22]. MQTT 5 allows it (§3.1.2.9).
  if (packet.protocolVersion !== 5 && packet.password !== undefined && packet.username === undefined)
    return { reason: Reason.PROTOCOL_ERROR, message: "Password Flag set without the User Name Flag" };
  return undefined;
}

function checkConnect(conn: MqttConnection, packet: IConnectPacket): Refusal | undefined {
  const props = packet.properties;
  if (props?.authenticationMethod !== undefined) {
    return { reason: Reason.BAD_AUTHENTICATION_METHOD, message: "enhanced authentication is not supported" };
  }
  // Receive Maximum and Maximum Packet Size of 0 are protocol errors [MQTT-3.1.2-?] (§3.1.2.11.3/4).
  if (props?.receiveMaximum === 0) return { reason: Reason.PROTOCOL_ERROR, message: "Receive Maximum is 0" };
  if (props?.maximumPacketSize === 0)
    return { reason: Reason.PROTOCOL_ERROR, message: "Maximum Packet Size is 0" };
  if (
    (props?.userProperties ? countUserProperties(props.userProperties) : 0) >
    conn.door.options.maxUserProperties
  ) {
    return { reason: Reason.QUOTA_EXCEEDED, message: "too many user properties" };
  }
  const will = packet.will;
  if (will) {
    const problem = topicNameProblem(conn, will.topic);
    if (problem) return { reason: Reason.TOPIC_NAME_INVALID, message: `will topic: ${problem}` };
    // Only the server writes $SYS/: a will there is refused at CONNECT, not dropped when published.
    if (isReservedForServer(will.topic))
      return { reason: Reason.NOT_AUTHORIZED, message: "will topic is reserved for the server" };
    if (will.properties?.payloadFormatIndicator && !isUtf8Payload(will.payload)) {
      // [MQTT-3.1.3-?]: a will declared UTF-8 must be UTF-8.
      return { reason: Reason.PAYLOAD_FORMAT_INVALID, message: "will payload is not UTF-8" };
    }
  }
  return undefined;
}

/** Settles the client id: true when the server assigned one, false when it must refuse. */
function settleClientId(conn: MqttConnection, packet: IConnectPacket): boolean | undefined {
  if (packet.clientId.length > 0) {
    conn.clientId = packet.clientId;
    return undefined;
  }
  // 3.1.1: an empty client id requires clean session 1 [MQTT-3.1.3-7] [MQTT-3.1.3-8];
  // v5: the server assigns one and says so [MQTT-3.1.3-6] [MQTT-3.2.2-16].
  if (conn.protocolVersion !== 5 && !packet.clean) return false;
  conn.clientId = `skein-${newSessionId()}`;
  return true;
}

function applyClientLimits(conn: MqttConnection, packet: IConnectPacket): void {
  const props = packet.properties;
  const options = conn.door.options;
  if (props?.receiveMaximum !== undefined)
    conn.inflightLimit = Math.min(props.receiveMaximum, options.maxInflight);
  if (props?.maximumPacketSize !== undefined) conn.clientMaxPacketSize = props.maximumPacketSize;
  if (props?.topicAliasMaximum !== undefined) conn.clientTopicAliasMax = props.topicAliasMaximum;
  if (props?.requestProblemInformation === false) conn.problemInformation = false;
}

/** Takes over a connected session [MQTT-3.1.4-3], then resumes it or starts clean [MQTT-3.1.2-4]. */
function takeSession(
  conn: MqttConnection,
  packet: IConnectPacket,
  auth: Authenticated,
): { session: MqttSession; present: boolean } {
  const door = conn.door;
  let session = door.sessions.get(conn.clientId);
  const previous = session?.link;
  if (previous && previous instanceof Object && previous !== conn) {
    const old = previous as MqttConnection;
    old.log.info({ clientId: conn.clientId }, "session taken over");
    old.close({
      reason: Reason.SESSION_TAKEN_OVER,
      message: "another connection took this session",
      protocolError: undefined,
    });
    door.core.metrics.inc("mqtt_session_takeovers_total");
  }
  session = door.sessions.get(conn.clientId);
  if (session && packet.clean) {
    session.end();
    session = undefined;
  }
  const present = session !== undefined;
  session ??= door.newSession(newSessionId(), conn.clientId);
  conn.session = session;
  session.owner = auth.principal === undefined ? ANONYMOUS_OWNER : { principal: auth.principal };
  const handle = mqttSessionHandle(conn, session, packet, auth);
  // The handle is the session's actor: role changes reach it in place (docs/security.md).
  session.actor = handle;
  session.attach(conn);
  door.offline.delete(session);
  door.core.facade.openSession(handle);
  if (present) restoreHandlers(conn, session);
  return { session, present };
}

/** The acting session of a CONNECT before its session is taken: who its will is checked against. */
function actorOf(conn: MqttConnection, auth: Authenticated): Actor {
  const sessionId = conn.door.sessions.get(conn.clientId)?.sessionId ?? "";
  return { sessionId, principal: auth.principal, roles: auth.roles, clientId: conn.clientId };
}

/**
 * The will is checked at CONNECT (`update_topic` on its topic): a client may not leave behind a
 * message it could not publish. v5 CONNACK 0x87, 3.1.1 return code 5. Checked again when it is sent.
 */
function willAllowed(conn: MqttConnection, packet: IConnectPacket, auth: Authenticated): boolean {
  const will = packet.will;
  if (!will) return true;
  const allowed = conn.door.core.facade.mayPublish(actorOf(conn, auth), will.topic);
  if (!allowed) conn.door.core.metrics.inc("mqtt_wills_refused_total");
  return allowed;
}

/** Session expiry: v5 property capped by config; 3.1.1 clean session 0 keeps it [MQTT-3.1.2-4]. */
function settleExpiry(
  conn: MqttConnection,
  packet: IConnectPacket,
  session: MqttSession,
): number | undefined {
  const options = conn.door.options;
  if (conn.protocolVersion !== 5) {
    session.expiryIntervalSec = packet.clean ? 0 : options.persistentSessionExpirySec;
    return undefined;
  }
  const requested = packet.properties?.sessionExpiryInterval ?? 0;
  const granted = Math.min(requested, options.maxSessionExpirySec);
  session.expiryIntervalSec =
    requested === 0xffffffff && options.maxSessionExpirySec >= 0xffffffff ? requested : granted;
  return granted !== requested ? granted : undefined;
}

function setWill(conn: MqttConnection, packet: IConnectPacket, session: MqttSession): void {
  const will = packet.will;
  if (!will) return;
  const update = toUpdate(
    conn,
    will.topic,
    will.payload,
    (will.qos ?? 0) as 0 | 1 | 2,
    will.retain ?? false,
    will.properties,
  );
  // The will's Message Expiry Interval starts when it is published, not now (MQTT 5 §3.1.3.2.4).
  const expirySec = conn.protocolVersion === 5 ? will.properties?.messageExpiryInterval : undefined;
  session.will = {
    update: { ...update, expiresAt: undefined },
    delaySec: will.properties?.willDelayInterval ?? 0,
    expirySec,
  };
}

/** Keep alive: v5 clients asking for more than the maximum (or none) get the Server Keep Alive [MQTT-3.2.2-21]. */
function settleKeepAlive(conn: MqttConnection, packet: IConnectPacket): number | undefined {
  const max = conn.door.options.maxKeepAliveSec;
  const requested = packet.keepalive ?? 0;
  conn.keepAliveSec = requested;
  if (conn.protocolVersion === 5 && max < 65535 && (requested === 0 || requested > max)) {
    conn.keepAliveSec = max;
    return max;
  }
  return undefined;
}

function sendConnack(conn: MqttConnection, a: ConnackFields): void {
  conn.write(a.assigned === undefined ? connackBytes(conn, a) : encodeConnack(conn, a));
}

/** What an accepting CONNACK says beyond the door's limits. */
interface ConnackFields {
  present: boolean;
  assigned?: string | undefined;
  grantedExpiry: number | undefined;
  serverKeepAlive: number | undefined;
}

/** Encodes an accepting CONNACK (with the door's limits as v5 properties). */
function encodeConnack(conn: MqttConnection, a: ConnackFields): Buffer {
  const options = conn.door.options;
  const packet: IConnackPacket = { cmd: "connack", sessionPresent: a.present };
  if (conn.protocolVersion === 5) {
    packet.reasonCode = Reason.SUCCESS;
    const properties: NonNullable<IConnackPacket["properties"]> = {
      receiveMaximum: options.receiveMaximum,
      maximumPacketSize: options.maxPacketSize,
      topicAliasMaximum: options.topicAliasMaximum,
    };
    if (a.assigned !== undefined) properties.assignedClientIdentifier = a.assigned;
    if (a.grantedExpiry !== undefined) properties.sessionExpiryInterval = a.grantedExpiry;
    if (a.serverKeepAlive !== undefined) properties.serverKeepAlive = a.serverKeepAlive;
    packet.properties = properties;
  } else {
    packet.returnCode = 0;
  }
  return mqtt.generate(packet, { protocolVersion: conn.protocolVersion });
}

/**
 * The bytes of accepting CONNACKs without an assigned client id, by door options, protocol version,
 * session present, granted expiry and server keep alive: the same few packets for almost every
 * client, so they are encoded once (encoding one cost a visible share of a CONNECT; issue 11, connect
 * rate). The four plain ones (no expiry granted below the request, no Server Keep Alive) by index,
 * without a key; at most {@link CONNACK_CACHE_MAX} others per door options: clients choose their expiry.
 */
interface ConnackCache {
  /** By (v5 ? 2 : 0) + (present ? 1 : 0). */
  readonly plain: (Buffer | undefined)[];
  readonly others: Map<string, Buffer>;
}
const connackCache = new WeakMap<object, ConnackCache>();
const CONNACK_CACHE_MAX = 64;

function connackBytes(conn: MqttConnection, a: ConnackFields): Buffer {
  let cache = connackCache.get(conn.door.options);
  if (!cache) connackCache.set(conn.door.options, (cache = { plain: [], others: new Map() }));
  if (a.grantedExpiry === undefined && a.serverKeepAlive === undefined) {
    const i = (conn.protocolVersion === 5 ? 2 : 0) + (a.present ? 1 : 0);
    return (cache.plain[i] ??= encodeConnack(conn, a));
  }
  const key = `${conn.protocolVersion}|${a.present}|${a.grantedExpiry}|${a.serverKeepAlive}`;
  let bytes = cache.others.get(key);
  if (bytes === undefined) {
    bytes = encodeConnack(conn, a);
    if (cache.others.size < CONNACK_CACHE_MAX) cache.others.set(key, bytes);
  }
  return bytes;
}

/** Refuses the connection: CONNACK with the reason, then close [MQTT-3.2.2-7]. */
function refuse(conn: MqttConnection, reason: number, message: string): void {
  conn.door.core.metrics.connected("mqtt", reasonName(reason).toLowerCase());
  conn.log.warn({ clientId: conn.clientId, reason, problem: message }, "connection refused");
  const packet: IConnackPacket =
    conn.protocolVersion === 5
      ? {
          cmd: "connack",
          sessionPresent: false,
          reasonCode: reason,
          properties: conn.problemInformation ? { reasonString: message } : undefined,
        }
      : { cmd: "connack", sessionPresent: false, returnCode: connackV3Code(reason) };
  conn.writeNow(mqtt.generate(packet, { protocolVersion: conn.protocolVersion }));
  conn.close({ publishWill: false, protocolError: `connect_refused_${reason.toString(16)}` });
}
