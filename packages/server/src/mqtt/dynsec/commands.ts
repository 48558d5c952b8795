/**
 * The JSON of Mosquitto's dynamic-security control API (`$CONTROL/dynamic-security/v1`): a payload
 * `{"commands":[{"command":"createClient","username":"alice",...}, ...]}`, answered on
 * `$CONTROL/dynamic-security/v1/response` with `{"responses":[{"command":...,"error"?,"data"?,
 * "correlationData"?}]}`, one response per command, in order. The fields are Mosquitto's (checked
 * against mosquitto 2.0 and its `mosquitto_ctrl`); unknown fields are ignored, as Mosquitto does.
 *
 * @module
 */
import { z } from "zod";
import { ACL_TYPES } from "./mapping.js";

/** The topic commands are published to. */
export const DYNSEC_TOPIC = "$CONTROL/dynamic-security/v1";
/** The topic answers are published to. */
export const DYNSEC_RESPONSE_TOPIC = "$CONTROL/dynamic-security/v1/response";
/** The prefix the MQTT door keeps for the API (nothing under it is a topic). */
export const DYNSEC_PREFIX = "$CONTROL/dynamic-security/";
/** At most this many commands in one payload (each may hash a password). */
export const MAX_DYNSEC_COMMANDS = 100;

const name = (what: string): z.ZodString =>
  z.string({ error: `Invalid/missing ${what}` }).min(1, `Invalid/missing ${what}`);
const count = z.number().int().optional();

/** One command, by `command`; commands Skein does not support are answered by name (handler.ts). */
export const dynsecCommandSchema = z.discriminatedUnion("command", [
  z.object({
    command: z.literal("createClient"),
    username: name("username"),
    password: z.string({ error: "Invalid/missing password" }).optional(),
    clientid: z.string({ error: "Invalid/missing client id" }).optional(),
    textname: z.string().optional(),
    textdescription: z.string().optional(),
    roles: z
      .array(z.object({ rolename: name("rolename"), priority: z.number().optional() }), {
        error: "'roles' not an array or missing/invalid rolename",
      })
      .max(256)
      .optional(),
    groups: z.array(z.unknown()).optional(),
  }),
  z.object({ command: z.literal("deleteClient"), username: name("username") }),
  z.object({
    command: z.literal("setClientPassword"),
    username: name("username"),
    password: z.string({ error: "Invalid/missing password" }).min(1, "Invalid/missing password"),
  }),
  z.object({ command: z.literal("getClient"), username: name("username") }),
  z.object({ command: z.literal("listClients"), verbose: z.boolean().optional(), count, offset: count }),
  z.object({
    command: z.literal("addClientRole"),
    username: name("username"),
    rolename: name("rolename"),
    priority: z.number().optional(),
  }),
  z.object({
    command: z.literal("removeClientRole"),
    username: name("username"),
    rolename: name("rolename"),
  }),
  z.object({
    command: z.literal("createRole"),
    rolename: name("rolename"),
    textname: z.string().optional(),
    textdescription: z.string().optional(),
    acls: z.array(z.unknown()).optional(),
  }),
  z.object({ command: z.literal("deleteRole"), rolename: name("rolename") }),
  z.object({ command: z.literal("getRole"), rolename: name("rolename") }),
  z.object({ command: z.literal("listRoles"), verbose: z.boolean().optional(), count, offset: count }),
  z.object({
    command: z.literal("addRoleACL"),
    rolename: name("rolename"),
    acltype: z.enum(ACL_TYPES, { error: "Unknown acltype" }),
    topic: name("topic"),
    allow: z.boolean().optional(),
    priority: z.number().optional(),
  }),
  z.object({
    command: z.literal("removeRoleACL"),
    rolename: name("rolename"),
    acltype: z.enum(ACL_TYPES, { error: "Unknown acltype" }),
    topic: name("topic"),
  }),
]);

/** A command Skein implements. */
export type DynsecCommand = z.output<typeof dynsecCommandSchema>;

/** The command names Skein implements. */
export const SUPPORTED_COMMANDS: ReadonlySet<string> = new Set(
  dynsecCommandSchema.options.map((o) => o.shape.command.value),
);

/** One answer. */
export interface DynsecResponse {
  /** The command answered. */
  command: string;
  /** Why it failed (absent on success). */
  error?: string;
  /** What a read returns. */
  data?: unknown;
  /** The command's `correlationData`, echoed. */
  correlationData?: string;
}
