/**
 * Mosquitto's dynamic-security control API for MQTT administrators (issue 14 §3), so that the real
 * `mosquitto_ctrl ... dynsec createClient alice` works against Skein unchanged. A PUBLISH to
 * `$CONTROL/dynamic-security/v1` carries JSON commands (commands.ts); each runs as the publishing
 * session through the security service (`view_security` to read, `modify_security` to change: the
 * façade's `authorizeSecurity` checks first, and the service checks again), so changes persist and
 * apply to open sessions at once, as through the SDK. The answers are published to
 * `$CONTROL/dynamic-security/v1/response`, to the requesting session only (Mosquitto sends them to
 * every subscriber its ACLs let read there; here nobody else learns the store's contents). The whole
 * `$CONTROL/dynamic-security/` prefix is the door's: nothing else may publish there, so no client can
 * pose as the answer.
 *
 * @module
 */
import {
  SkeinError,
  type SecurityCommand,
  type SecurityStoreView,
  securityCommandSchema,
  utf8Decode,
} from "@skein/protocol";
import type { IPublishPacket } from "mqtt-packet";
import type { Core } from "../../core/core.js";
import type { Logger } from "../../core/ports.js";
import type { Actor } from "../../core/security/types.js";
import type { QoS, Update } from "../../core/types.js";
import type { MqttConnection } from "../connection.js";
import { Reason } from "../reason-codes.js";
import { NOT_KEPT } from "../session.js";
import {
  DYNSEC_RESPONSE_TOPIC,
  DYNSEC_TOPIC,
  type DynsecCommand,
  type DynsecResponse,
  MAX_DYNSEC_COMMANDS,
  SUPPORTED_COMMANDS,
  dynsecCommandSchema,
} from "./commands.js";
import {
  Inexpressible,
  aclsOf,
  checkExact,
  permissionsOf,
  prefixOf,
  withAcl,
  withoutAcl,
} from "./mapping.js";

export { DYNSEC_PREFIX } from "./commands.js";

/** Payloads a door holds waiting for their turn, across connections (each may hash passwords). */
export const MAX_PENDING_DYNSEC_PAYLOADS = 64;

/** The dynamic-security API of one MQTT door: commands run one payload at a time, in arrival order. */
export class DynamicSecurityApi {
  /** The last payload's run: the next waits for it (read-modify-write of roles must not interleave). */
  private tail: Promise<unknown> = Promise.resolve();
  /** Payloads accepted and not yet answered (bounded by {@link MAX_PENDING_DYNSEC_PAYLOADS}). */
  private pending = 0;

  constructor(
    private readonly core: Core,
    private readonly log: Logger,
  ) {}

  /**
   * A PUBLISH under `$CONTROL/dynamic-security/`. Returns the PUBACK/PUBREC reason code; the answer
   * follows on the response topic, after the acknowledgement.
   */
  handlePublish(conn: MqttConnection, topic: string, packet: IPublishPacket): number {
    // Only the command topic takes publishes; the response topic is the server's.
    if (topic !== DYNSEC_TOPIC) return Reason.NOT_AUTHORIZED;
    const session = conn.session;
    if (session === undefined) return Reason.UNSPECIFIED_ERROR;
    const actor = session.actor;
    const payload = packet.payload as Buffer;
    const qos = packet.qos;
    // A bounded queue: past it, the payload is refused (0x97 Quota exceeded) and not run.
    if (this.pending >= MAX_PENDING_DYNSEC_PAYLOADS) return Reason.QUOTA_EXCEEDED;
    this.pending++;
    this.core.metrics.inc("mqtt_dynsec_payloads_total");
    const run = this.tail.then(() => this.run(actor, payload)).finally(() => this.pending--);
    this.tail = run.catch(() => undefined);
    run.then(
      (responses) => answer(conn, qos, responses),
      /* c8 ignore next 2: run() answers every failure itself */
      (err: unknown) => this.log.error({ err }, "dynamic-security payload failed"),
    );
    return Reason.SUCCESS;
  }

  /** Runs every command of a payload in order; one response per command. */
  async run(actor: Actor, payload: Uint8Array): Promise<DynsecResponse[]> {
    let commands: unknown;
    try {
      commands = (JSON.parse(utf8Decode(payload, "the payload")) as { commands?: unknown }).commands;
    } catch {
      return [{ command: "Unknown command", error: "Payload not valid JSON" }];
    }
    if (!Array.isArray(commands) || commands.length === 0)
      return [{ command: "Unknown command", error: "Invalid/missing commands" }];
    if (commands.length > MAX_DYNSEC_COMMANDS)
      return [{ command: "Unknown command", error: `At most ${MAX_DYNSEC_COMMANDS} commands per payload` }];
    const responses: DynsecResponse[] = [];
    for (const raw of commands as unknown[]) responses.push(await this.runOne(actor, raw));
    return responses;
  }

  private async runOne(actor: Actor, raw: unknown): Promise<DynsecResponse> {
    if (typeof raw !== "object" || raw === null || Array.isArray(raw))
      return { command: "Unknown command", error: "Command not an object" };
    const fields = raw as Record<string, unknown>;
    const command = fields.command;
    const correlation = fields.correlationData;
    if (correlation !== undefined && typeof correlation !== "string")
      return { command: String(command), error: "Invalid correlationData data type." };
    const reply = (r: Omit<DynsecResponse, "correlationData">): DynsecResponse =>
      correlation === undefined ? r : { ...r, correlationData: correlation };
    if (typeof command !== "string") return reply({ command: "Unknown command", error: "Missing command" });
    if (!SUPPORTED_COMMANDS.has(command)) {
      this.core.metrics.inc("mqtt_dynsec_commands_total", { outcome: "unsupported" });
      return reply({ command, error: unsupported(command) });
    }
    const parsed = dynsecCommandSchema.safeParse(raw);
    if (!parsed.success)
      return reply({ command, error: parsed.error.issues[0]?.message ?? "Invalid command" });
    try {
      const data = await this.execute(actor, parsed.data);
      this.core.metrics.inc("mqtt_dynsec_commands_total", { outcome: "ok" });
      return reply(data === undefined ? { command } : { command, data });
    } catch (err) {
      const error = messageOf(err);
      this.core.metrics.inc("mqtt_dynsec_commands_total", { outcome: "refused" });
      this.log.debug({ command, principal: actor.principal, error }, "dynamic-security command refused");
      return reply({ command, error });
    }
  }

  /** One command: checked through the façade, run through the security service. */
  private async execute(actor: Actor, c: DynsecCommand): Promise<unknown> {
    const reads = c.command.startsWith("get") || c.command.startsWith("list");
    this.core.facade.authorizeSecurity(actor, reads ? "view_security" : "modify_security");
    // Reading the store needs view_security, which a change through mosquitto_ctrl implies.
    const view = (await this.core.facade.administerSecurity(actor, { op: "get" })) as SecurityStoreView;
    const change = (command: SecurityCommand): Promise<unknown> => {
      // The names and paths obey the same rules as through the SDK (one path segment, no `$` first...).
      const checked = securityCommandSchema.safeParse(command);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        throw new Inexpressible(
          `Invalid ${issue?.path.join(".") ?? "command"}: ${issue?.message ?? "invalid"}`,
        );
      }
      return this.core.facade.administerSecurity(actor, checked.data);
    };
    switch (c.command) {
      case "listClients":
        return page("clients", view.principals, c, (p) =>
          c.verbose
            ? { username: p.name, roles: p.roles.map((rolename) => ({ rolename })), groups: [] }
            : p.name,
        );
      case "listRoles":
        return page("roles", view.roles, c, (r) =>
          c.verbose ? { rolename: r.name, acls: aclsOf(r) } : r.name,
        );
      case "getClient": {
        const p = principal(view, c.username);
        return { client: { username: p.name, roles: p.roles.map((rolename) => ({ rolename })), groups: [] } };
      }
      case "getRole": {
        const r = role(view, c.rolename);
        return { role: { rolename: r.name, acls: aclsOf(r) } };
      }
      case "createClient": {
        if (view.principals.some((p) => p.name === c.username))
          throw new Inexpressible("Client already exists");
        if (c.clientid !== undefined && c.clientid !== "")
          throw new Inexpressible(
            "Client ids are not supported by Skein: a principal logs in from any client id",
          );
        if (c.groups !== undefined && c.groups.length > 0)
          throw new Inexpressible(unsupported("createClient with groups"));
        if (c.password === undefined || c.password === "")
          throw new Inexpressible("Invalid/missing password (Skein principals log in with a password)");
        const roles = (c.roles ?? []).map((r) => {
          noPriority(r.priority);
          return role(view, r.rolename).name;
        });
        await change({ op: "add_principal", name: c.username, password: c.password, roles });
        return undefined;
      }
      case "deleteClient":
        principal(view, c.username);
        await change({ op: "remove_principal", name: c.username });
        return undefined;
      case "setClientPassword":
        principal(view, c.username);
        await change({ op: "set_password", name: c.username, password: c.password });
        return undefined;
      case "addClientRole": {
        noPriority(c.priority);
        const p = principal(view, c.username);
        role(view, c.rolename);
        if (p.roles.includes(c.rolename)) return undefined;
        const roles = [...p.roles, c.rolename];
        checkExact(view, withPrincipalRoles(view, c.username, roles), { principal: c.username });
        await change({ op: "assign_roles", name: c.username, roles });
        return undefined;
      }
      case "removeClientRole": {
        const p = principal(view, c.username);
        role(view, c.rolename);
        const roles = p.roles.filter((r) => r !== c.rolename);
        if (roles.length === p.roles.length) return undefined;
        checkExact(view, withPrincipalRoles(view, c.username, roles), { principal: c.username });
        await change({ op: "assign_roles", name: c.username, roles });
        return undefined;
      }
      case "createRole":
        if (view.roles.some((r) => r.name === c.rolename)) throw new Inexpressible("Role already exists");
        if (c.acls !== undefined && c.acls.length > 0)
          throw new Inexpressible("createRole with acls is not supported by Skein: add them with addRoleACL");
        await change({ op: "define_role", role: { name: c.rolename, global: [], paths: {}, includes: [] } });
        return undefined;
      case "deleteRole":
        role(view, c.rolename);
        await change({ op: "remove_role", name: c.rolename });
        return undefined;
      case "addRoleACL": {
        const r = role(view, c.rolename);
        noPriority(c.priority);
        if (c.allow === false)
          throw new Inexpressible(
            "Skein cannot express a deny ACL: in Skein a session holds the union of its roles' grants, and the most specific path decides; remove the allow ACL instead",
          );
        const next = withAcl(r, prefixOf(c.topic), permissionsOf(c.acltype));
        checkExact(view, withRole(view, next), { role: c.rolename });
        await change({ op: "define_role", role: next });
        return undefined;
      }
      case "removeRoleACL": {
        const r = role(view, c.rolename);
        const next = withoutAcl(r, prefixOf(c.topic), permissionsOf(c.acltype));
        checkExact(view, withRole(view, next), { role: c.rolename });
        await change({ op: "define_role", role: next });
        return undefined;
      }
    }
  }
}

/** The error of a command Skein does not implement. */
function unsupported(command: string): string {
  return `${command} is not supported by Skein (groups, default ACL access, client ids and disabling clients have no equivalent in its security model; see docs/security.md)`;
}

function noPriority(priority: number | undefined): void {
  // Mosquitto evaluates ACLs and roles by priority; in Skein the most specific path decides.
  if (priority !== undefined && priority !== 0 && priority !== -1)
    throw new Inexpressible("Priorities are not supported by Skein: the most specific path decides");
}

function principal(view: SecurityStoreView, name: string): SecurityStoreView["principals"][number] {
  const p = view.principals.find((x) => x.name === name);
  if (p === undefined) throw new Inexpressible("Client not found");
  return p;
}

function role(view: SecurityStoreView, name: string): SecurityStoreView["roles"][number] {
  const r = view.roles.find((x) => x.name === name);
  if (r === undefined) throw new Inexpressible("Role not found");
  return r;
}

function withRole(view: SecurityStoreView, next: SecurityStoreView["roles"][number]): SecurityStoreView {
  return { ...view, roles: view.roles.map((r) => (r.name === next.name ? next : r)) };
}

function withPrincipalRoles(view: SecurityStoreView, name: string, roles: string[]): SecurityStoreView {
  return { ...view, principals: view.principals.map((p) => (p.name === name ? { name, roles } : p)) };
}

/** A list answer: `count` (-1: all) and `offset` page it; `totalCount` counts them all. */
function page<T>(
  key: string,
  items: readonly T[],
  c: { count?: number | undefined; offset?: number | undefined },
  show: (item: T) => unknown,
): Record<string, unknown> {
  const offset = Math.max(0, c.offset ?? 0);
  const count = c.count === undefined || c.count < 0 ? items.length : c.count;
  return { totalCount: items.length, [key]: items.slice(offset, offset + count).map(show) };
}

function messageOf(err: unknown): string {
  if (err instanceof Inexpressible) return err.message;
  const e = SkeinError.from(err);
  if (e.code === "NOT_AUTHORIZED") return `Not authorized: ${e.message}`;
  if (e.code === "INTERNAL") return "Internal error";
  return e.message;
}

/** Publishes the answer to the requesting session's subscriptions that match the response topic. */
function answer(conn: MqttConnection, qos: QoS, responses: DynsecResponse[]): void {
  const session = conn.session;
  if (session === undefined) return;
  let granted = -1;
  for (const sub of session.subscriptions.values())
    if (
      sub.shareGroup === undefined &&
      filterMatches(sub.filter, DYNSEC_RESPONSE_TOPIC) &&
      sub.options.qos > granted
    )
      granted = sub.options.qos;
  if (granted < 0) return; // nobody listens: Mosquitto drops it as well
  const update: Update = {
    topic: DYNSEC_RESPONSE_TOPIC,
    payload: Buffer.from(JSON.stringify({ responses })),
    qos: Math.min(qos, granted) as QoS,
    retain: false,
    properties:
      conn.protocolVersion === 5
        ? { contentType: "application/json", payloadFormatIndicator: true }
        : undefined,
    expiresAt: undefined,
    origin: undefined,
  };
  session.send({ update, qos: update.qos, retain: false, subscriptionIds: undefined, messageId: NOT_KEPT });
}

/** True when the MQTT filter matches the topic (`$` topics only by filters starting with `$` [MQTT-4.7.2-1]). */
export function filterMatches(filter: string, topic: string): boolean {
  const f = filter.split("/");
  const t = topic.split("/");
  if (topic.startsWith("$") && (f[0] === "+" || f[0] === "#")) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === "#") return true;
    if (i >= t.length || (f[i] !== "+" && f[i] !== t[i])) return false;
  }
  return f.length === t.length;
}
