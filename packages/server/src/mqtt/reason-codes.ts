/** MQTT 5 reason codes the door sends (MQTT 5 §2.4), and the 3.1.1 CONNACK return codes. */
export const Reason = {
  SUCCESS: 0x00,
  NORMAL_DISCONNECTION: 0x00,
  GRANTED_QOS_0: 0x00,
  GRANTED_QOS_1: 0x01,
  GRANTED_QOS_2: 0x02,
  DISCONNECT_WITH_WILL: 0x04,
  NO_MATCHING_SUBSCRIBERS: 0x10,
  NO_SUBSCRIPTION_EXISTED: 0x11,
  UNSPECIFIED_ERROR: 0x80,
  MALFORMED_PACKET: 0x81,
  PROTOCOL_ERROR: 0x82,
  IMPLEMENTATION_SPECIFIC_ERROR: 0x83,
  UNSUPPORTED_PROTOCOL_VERSION: 0x84,
  CLIENT_IDENTIFIER_NOT_VALID: 0x85,
  BAD_USER_NAME_OR_PASSWORD: 0x86,
  NOT_AUTHORIZED: 0x87,
  SERVER_UNAVAILABLE: 0x88,
  SERVER_BUSY: 0x89,
  BAD_AUTHENTICATION_METHOD: 0x8c,
  KEEP_ALIVE_TIMEOUT: 0x8d,
  SESSION_TAKEN_OVER: 0x8e,
  TOPIC_FILTER_INVALID: 0x8f,
  TOPIC_NAME_INVALID: 0x90,
  PACKET_IDENTIFIER_IN_USE: 0x91,
  PACKET_IDENTIFIER_NOT_FOUND: 0x92,
  RECEIVE_MAXIMUM_EXCEEDED: 0x93,
  TOPIC_ALIAS_INVALID: 0x94,
  PACKET_TOO_LARGE: 0x95,
  QUOTA_EXCEEDED: 0x97,
  PAYLOAD_FORMAT_INVALID: 0x99,
  SHARED_SUBSCRIPTIONS_NOT_SUPPORTED: 0x9e,
  SERVER_SHUTTING_DOWN: 0x8b,
} as const;

/** MQTT 3.1.1 CONNACK return codes (§3.2.2.3). */
export const ConnackV3 = {
  ACCEPTED: 0,
  UNACCEPTABLE_PROTOCOL_VERSION: 1,
  IDENTIFIER_REJECTED: 2,
  SERVER_UNAVAILABLE: 3,
  BAD_USER_NAME_OR_PASSWORD: 4,
  NOT_AUTHORIZED: 5,
} as const;

/** The 3.1.1 return code closest to a v5 CONNACK reason code. */
export function connackV3Code(reason: number): number {
  switch (reason) {
    case Reason.SUCCESS:
      return ConnackV3.ACCEPTED;
    case Reason.UNSUPPORTED_PROTOCOL_VERSION:
      return ConnackV3.UNACCEPTABLE_PROTOCOL_VERSION;
    case Reason.CLIENT_IDENTIFIER_NOT_VALID:
      return ConnackV3.IDENTIFIER_REJECTED;
    case Reason.BAD_USER_NAME_OR_PASSWORD:
      return ConnackV3.BAD_USER_NAME_OR_PASSWORD;
    case Reason.NOT_AUTHORIZED:
      return ConnackV3.NOT_AUTHORIZED;
    default:
      return ConnackV3.SERVER_UNAVAILABLE;
  }
}

/** A short name for a reason code, for logs and metrics. */
export function reasonName(code: number): string {
  for (const [name, value] of Object.entries(Reason)) if (value === code && code !== 0) return name;
  return code === 0 ? "SUCCESS" : `0x${code.toString(16)}`;
}
