/**
 * The MQTT door's reason codes: the MQTT 5 ones are {@link MqttReason} of `@skein/protocol` (one
 * definition, shared with the error-code table), plus the 3.1.1 CONNACK return codes.
 */
import { MqttReason } from "@skein/protocol";

/** MQTT 5 reason codes the door sends (MQTT 5 §2.4): {@link MqttReason}. */
export const Reason = MqttReason;

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
