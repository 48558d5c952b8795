/**
 * MQTT 5 reason codes (MQTT 5 §2.4): the one definition of their numbers. The error-code table
 * (`errors.ts`) names the reason code that reports each error from here, and the server's MQTT door
 * sends them by these names.
 *
 * @module
 */

/** MQTT 5 reason codes by name. Several names share a number where the spec gives it several meanings. */
export const MqttReason = {
  /** Success (CONNACK, PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK, AUTH). */
  SUCCESS: 0x00,
  /** Normal disconnection (DISCONNECT). */
  NORMAL_DISCONNECTION: 0x00,
  /** Granted QoS 0 (SUBACK). */
  GRANTED_QOS_0: 0x00,
  /** Granted QoS 1 (SUBACK). */
  GRANTED_QOS_1: 0x01,
  /** Granted QoS 2 (SUBACK). */
  GRANTED_QOS_2: 0x02,
  /** Disconnect with Will Message (DISCONNECT from a client). */
  DISCONNECT_WITH_WILL: 0x04,
  /** No matching subscribers (PUBACK, PUBREC): accepted, nobody listening. */
  NO_MATCHING_SUBSCRIBERS: 0x10,
  /** No subscription existed (UNSUBACK). */
  NO_SUBSCRIPTION_EXISTED: 0x11,
  /** Unspecified error. */
  UNSPECIFIED_ERROR: 0x80,
  /** Malformed Packet: the packet could not be parsed. */
  MALFORMED_PACKET: 0x81,
  /** Protocol Error: a parsed packet breaks the protocol. */
  PROTOCOL_ERROR: 0x82,
  /** Implementation specific error. */
  IMPLEMENTATION_SPECIFIC_ERROR: 0x83,
  /** Unsupported Protocol Version (CONNACK). */
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  /** Client Identifier not valid (CONNACK). */
  CLIENT_IDENTIFIER_NOT_VALID: 0x85,
  /** Bad User Name or Password (CONNACK). */
  BAD_USER_NAME_OR_PASSWORD: 0x86,
  /** Not authorized. */
  NOT_AUTHORIZED: 0x87,
  /** Server unavailable (CONNACK). */
  SERVER_UNAVAILABLE: 0x88,
  /** Server busy. */
  SERVER_BUSY: 0x89,
  /** Server shutting down (DISCONNECT). */
  SERVER_SHUTTING_DOWN: 0x8b,
  /** Bad authentication method. */
  BAD_AUTHENTICATION_METHOD: 0x8c,
  /** Keep Alive timeout (DISCONNECT). */
  KEEP_ALIVE_TIMEOUT: 0x8d,
  /** Session taken over (DISCONNECT). */
  SESSION_TAKEN_OVER: 0x8e,
  /** Topic Filter invalid. */
  TOPIC_FILTER_INVALID: 0x8f,
  /** Topic Name invalid. */
  TOPIC_NAME_INVALID: 0x90,
  /** Packet Identifier in use. */
  PACKET_IDENTIFIER_IN_USE: 0x91,
  /** Packet Identifier not found. */
  PACKET_IDENTIFIER_NOT_FOUND: 0x92,
  /** Receive Maximum exceeded (DISCONNECT). */
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  /** Topic Alias invalid (DISCONNECT). */
  TOPIC_ALIAS_INVALID: 0x94,
  /** Packet too large. */
  PACKET_TOO_LARGE: 0x95,
  /** Message rate too high (DISCONNECT, MQTT 5 §3.14.2.1). */
  MESSAGE_RATE_TOO_HIGH: 0x96,
  /** Quota exceeded. */
  QUOTA_EXCEEDED: 0x97,
  /** Payload format invalid. */
  PAYLOAD_FORMAT_INVALID: 0x99,
  /** Shared Subscriptions not supported. */
  SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: 0x9e,
  /**
   * Maximum connect time (DISCONNECT): "the maximum connection time authorized for this connection has
   * been exceeded" (MQTT 5 §3.14.2.1); Skein sends it when the session's credentials expire.
   */
  MAXIMUM_CONNECT_TIME: 0xa0,
} as const;

/** An MQTT 5 reason code number. */
export type MqttReasonCode = (typeof MqttReason)[keyof typeof MqttReason];
