/**
 * The security model (issue 14 §2): most specific prefix wins across roles, an explicit empty set
 * differs from no assignment, included roles (with cycles), `{principal}`/`{clientId}` substitution,
 * anonymous access by bind, cached decisions dropped on every change.
 */
import type { RoleDefinitionInput } from "@skein/protocol";
import { roleDefinitionSchema } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import { Metrics } from "../metrics.js";
import { silentLogger, systemClock } from "../ports.js";
import { SessionRegistry } from "../sessions.js";
import { LoginThrottle } from "./authentication.js";
import { anonymousProblem, effectiveAnonymous, isLoopbackHost } from "./model.js";
import { SecurityService } from "./service.js";
import type { Actor, Credentials } from "./types.js";

function service(roles: RoleDefinitionInput[]): SecurityService {
  return new SecurityService(
    { initial: { roles: roles.map((r) => roleDefinitionSchema.parse(r)) } },
    new SessionRegistry(),
    systemClock,
    new Metrics(),
    silentLogger,
  );
}

const actor = (roles: string[], principal?: string, clientId?: string): Actor => ({
  sessionId: "s1",
  principal,
  roles,
  clientId,
});

describe("path permissions", () => {
  it("lets the most specific assigned prefix decide, across roles", () => {
    const s = service([
      { name: "wide", paths: { "": ["read_topic"], a: ["read_topic", "update_topic"] } },
      { name: "narrow", paths: { "a/b": ["select_topic"] } },
    ]);
    const a = actor(["wide", "narrow"]);
    const auth = s.authorizer;
    expect(auth.authorize(a, "read_topic", "x/y")).toBe(true);
    expect(auth.authorize(a, "update_topic", "a")).toBe(true);
    expect(auth.authorize(a, "update_topic", "a/c/d")).toBe(true);
    // a/b is assigned (by narrow): only select_topic there and below.
    expect(auth.authorize(a, "select_topic", "a/b/c")).toBe(true);
    expect(auth.authorize(a, "update_topic", "a/b")).toBe(false);
    expect(auth.authorize(a, "read_topic", "a/b/c")).toBe(false);
    // A prefix matches whole segments only: a/bc is under a, not a/b.
    expect(auth.authorize(a, "update_topic", "a/bc")).toBe(true);
  });

  it("adds up roles that assign the same prefix", () => {
    const s = service([
      { name: "r1", paths: { p: ["read_topic"] } },
      { name: "r2", paths: { "p/": ["update_topic"] } },
    ]);
    const a = actor(["r1", "r2"]);
    expect(s.authorizer.authorize(a, "read_topic", "p/q")).toBe(true);
    expect(s.authorizer.authorize(a, "update_topic", "p/q")).toBe(true);
  });

  it("treats an explicit empty set as 'nothing here' and no assignment as inherit", () => {
    const s = service([{ name: "r", paths: { "": ["read_topic"], secret: [], open: ["read_topic"] } }]);
    const a = actor(["r"]);
    expect(s.authorizer.authorize(a, "read_topic", "secret")).toBe(false);
    expect(s.authorizer.authorize(a, "read_topic", "secret/deeper")).toBe(false);
    expect(s.authorizer.authorize(a, "read_topic", "other/path")).toBe(true);
  });

  it("returns to inheriting when an assignment is removed, and drops cached decisions", async () => {
    const s = service([{ name: "r", paths: { "": ["read_topic"], secret: [] } }]);
    const a = actor(["r"]);
    const admin = actor(["admin"]);
    expect(s.authorizer.authorize(a, "read_topic", "secret/x")).toBe(false);
    const before = s.authorizer.version;
    await s.execute(admin, { op: "set_path_permissions", role: "r", path: "secret", permissions: null });
    expect(s.authorizer.version).toBeGreaterThan(before);
    expect(s.authorizer.authorize(a, "read_topic", "secret/x")).toBe(true);
  });

  it("grants nothing without an assignment anywhere", () => {
    const s = service([{ name: "r", global: ["view_session"] }]);
    expect(s.authorizer.authorize(actor(["r"]), "read_topic", "a")).toBe(false);
    expect(s.authorizer.authorize(actor(["r"]), "view_session")).toBe(true);
    expect(s.authorizer.authorize(actor(["r"]), "modify_session")).toBe(false);
    expect(s.authorizer.authorize(actor(["unknown-role"]), "view_session")).toBe(false);
  });
});

describe("path permissions against the rule, on random role sets", () => {
  // The rule written plainly: among the assigned prefixes (templates filled in) that are the path or
  // a whole-segment prefix of it, the deepest decide, the same depth adding up; none grants nothing.
  // The authorizer starts its lookup at the depth of the deepest prefix, and answers root-only sets
  // without a lookup (issue 11): this checks both against the rule.
  const PERMS = ["read_topic", "update_topic", "select_topic"] as const;
  const SEGMENTS = ["a", "b", "", "c"];
  it("gives the rule's answer for every permission, path and actor", () => {
    let state = 12345;
    const rand = (n: number): number => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return (state >>> 8) % n;
    };
    const pathOf = (depth: number): string =>
      Array.from({ length: depth }, () => SEGMENTS[rand(SEGMENTS.length)] as string).join("/");
    for (let round = 0; round < 150; round++) {
      const roles: RoleDefinitionInput[] = [];
      for (let r = 0, n = 1 + rand(2); r < n; r++) {
        const paths: Record<string, (typeof PERMS)[number][]> = {};
        for (let k = 0, m = rand(4); k < m; k++) {
          const roll = rand(6);
          const prefix =
            roll === 0 ? "" : roll === 1 ? "{clientId}" : roll === 2 ? "u/{principal}" : pathOf(1 + rand(3));
          if (prefix.endsWith("/")) continue; // a trailing `/` is the same prefix without it
          paths[prefix] = PERMS.filter(() => rand(2) === 1);
        }
        roles.push({ name: `r${r}`, paths });
      }
      const s = service(roles);
      const who = actor(
        roles.map((r) => r.name),
        rand(2) === 1 ? "p" : undefined,
        rand(3) === 0 ? undefined : rand(2) === 1 ? "a" : "cl",
      );
      for (let q = 0; q < 12; q++) {
        const path = pathOf(rand(5));
        let depth = -1;
        let mask = new Set<string>();
        for (const role of roles) {
          for (const [raw, perms] of Object.entries(role.paths ?? {})) {
            let prefix: string | undefined = raw;
            if (raw.includes("{")) {
              const value = raw.includes("{principal}") ? who.principal : who.clientId;
              prefix = value === undefined ? undefined : raw.replace(/\{(principal|clientId)\}/, value);
            }
            if (prefix === undefined) continue;
            if (prefix !== "" && path !== prefix && !path.startsWith(`${prefix}/`)) continue;
            const d = prefix === "" ? 0 : prefix.split("/").length;
            if (d > depth) [depth, mask] = [d, new Set()];
            if (d === depth) for (const p of perms) mask.add(p);
          }
        }
        for (const p of PERMS) {
          const context = JSON.stringify({ roles, who, path, p });
          expect(s.authorizer.authorize(who, p, path), context).toBe(mask.has(p));
        }
      }
    }
  });
});

describe("compiled role sets shared by roles array", () => {
  it("shares a set without placeholders, never one with them, and drops both on a change", async () => {
    const s = service([
      { name: "plain", paths: { "": ["read_topic"] } },
      { name: "own", paths: { "{clientId}": ["update_topic"] } },
    ]);
    const roles = ["plain", "own"];
    const one = actor(roles, undefined, "one");
    const two = actor(roles, undefined, "two");
    expect(s.authorizer.authorize(one, "update_topic", "one")).toBe(true);
    expect(s.authorizer.authorize(two, "update_topic", "one")).toBe(false);
    expect(s.authorizer.authorize(two, "update_topic", "two")).toBe(true);
    expect(s.authorizer.authorize(one, "update_topic", "two")).toBe(false);
    const plain = ["plain"];
    expect(s.authorizer.authorize(actor(plain), "read_topic", "x")).toBe(true);
    await s.execute(actor(["admin"]), {
      op: "set_path_permissions",
      role: "plain",
      path: "",
      permissions: [],
    });
    expect(s.authorizer.authorize(actor(plain), "read_topic", "x")).toBe(false);
  });
});

describe("included roles", () => {
  it("grants what included roles grant, transitively, and survives cycles", () => {
    const s = service([
      { name: "a", global: ["view_session"], includes: ["b"] },
      { name: "b", paths: { x: ["read_topic"] }, includes: ["c"] },
      { name: "c", global: ["view_server"], includes: ["a"] },
    ]);
    const who = actor(["a"]);
    expect(s.authorizer.authorize(who, "view_session")).toBe(true);
    expect(s.authorizer.authorize(who, "read_topic", "x/1")).toBe(true);
    expect(s.authorizer.authorize(who, "view_server")).toBe(true);
    expect(s.authorizer.authorize(who, "control_server")).toBe(false);
    expect(s.authorizer.authorize(actor(["c"]), "read_topic", "x")).toBe(true);
  });
});

describe("substitution", () => {
  const roles: RoleDefinitionInput[] = [
    {
      name: "own",
      paths: {
        "users/{principal}": ["read_topic", "update_topic"],
        "devices/{clientId}/cmd": ["read_topic"],
      },
    },
  ];

  it("fills in the actor's principal and client id", () => {
    const s = service(roles);
    const alice = actor(["own"], "alice", "dev1");
    const bob = actor(["own"], "bob", "dev2");
    expect(s.authorizer.authorize(alice, "update_topic", "users/alice/inbox")).toBe(true);
    expect(s.authorizer.authorize(alice, "update_topic", "users/bob/inbox")).toBe(false);
    expect(s.authorizer.authorize(bob, "update_topic", "users/bob")).toBe(true);
    expect(s.authorizer.authorize(alice, "read_topic", "devices/dev1/cmd/x")).toBe(true);
    expect(s.authorizer.authorize(alice, "read_topic", "devices/dev2/cmd")).toBe(false);
  });

  it("grants nothing when the actor lacks the value or it is not one plain segment", () => {
    const s = service(roles);
    expect(s.authorizer.authorize(actor(["own"]), "read_topic", "users/")).toBe(false);
    expect(s.authorizer.authorize(actor(["own"]), "read_topic", "users/{principal}")).toBe(false);
    const sneaky = actor(["own"], "alice", "dev1/../x");
    expect(s.authorizer.authorize(sneaky, "read_topic", "devices/dev1/../x/cmd")).toBe(false);
    const wild = actor(["own"], "alice", "+");
    expect(s.authorizer.authorize(wild, "read_topic", "devices/+/cmd")).toBe(false);
  });
});

describe("anonymous access", () => {
  it("defaults by bind: loopback allows the anonymous role, configured principals refuse, other binds must configure", () => {
    expect(isLoopbackHost("127.0.0.1")).toBe(true);
    expect(isLoopbackHost("::1")).toBe(true);
    expect(isLoopbackHost("localhost")).toBe(true);
    expect(isLoopbackHost("0.0.0.0")).toBe(false);
    expect(isLoopbackHost("::")).toBe(false);
    expect(isLoopbackHost("192.168.1.2")).toBe(false);
    expect(effectiveAnonymous(undefined, "127.0.0.1", 0)).toEqual({ roles: ["anonymous"] });
    expect(effectiveAnonymous(undefined, "127.0.0.1", 1)).toBe(false);
    expect(effectiveAnonymous(undefined, "0.0.0.0", 0)).toBeUndefined();
    expect(effectiveAnonymous(false, "0.0.0.0", 0)).toBe(false);
    expect(anonymousProblem(undefined, "127.0.0.1")).toBeUndefined();
    expect(anonymousProblem(false, "0.0.0.0")).toBeUndefined();
    expect(anonymousProblem({ roles: [] }, "0.0.0.0")).toBeUndefined();
    const line = anonymousProblem(undefined, "0.0.0.0");
    expect(line).toMatch(/security\.anonymous/);
    expect(line).not.toContain("\n");
  });

  it("gives the anonymous role publish, subscribe, create and request-response, but no control", () => {
    const s = service([]);
    const anon = actor(["anonymous"]);
    for (const p of [
      "select_topic",
      "read_topic",
      "update_topic",
      "modify_topic",
      "send_to_message_handler",
      "send_to_session",
    ] as const)
      expect(s.authorizer.authorize(anon, p, "any/path")).toBe(true);
    expect(s.authorizer.authorize(anon, "register_handler")).toBe(true);
    for (const p of [
      "view_session",
      "modify_session",
      "control_server",
      "view_security",
      "modify_security",
    ] as const)
      expect(s.authorizer.authorize(anon, p)).toBe(false);
  });

  it("refuses security administration without the permission", async () => {
    const s = service([]);
    await expect(s.execute(actor(["anonymous"]), { op: "get" })).rejects.toMatchObject({
      code: "NOT_AUTHORIZED",
    });
    await expect(s.execute(actor(["anonymous"]), { op: "remove_role", name: "admin" })).rejects.toMatchObject(
      { code: "NOT_AUTHORIZED" },
    );
  });
});

describe("login throttle", () => {
  it("doubles the wait per failure from an address, caps it, and forgets on success", () => {
    let now = 0;
    const clock = { ...systemClock, now: () => now };
    const t = new LoginThrottle(clock, 100);
    expect(t.delayFor("10.0.0.1")).toBe(0);
    t.failed("10.0.0.1");
    expect(t.delayFor("10.0.0.1")).toBe(100);
    t.failed("10.0.0.1");
    t.failed("10.0.0.1");
    expect(t.delayFor("10.0.0.1")).toBe(400);
    for (let i = 0; i < 20; i++) t.failed("10.0.0.1");
    expect(t.delayFor("10.0.0.1")).toBe(6400);
    expect(t.delayFor("10.0.0.2")).toBe(0);
    t.succeeded("10.0.0.1");
    expect(t.delayFor("10.0.0.1")).toBe(0);
    t.failed("10.0.0.3");
    now += 600_001;
    expect(t.delayFor("10.0.0.3")).toBe(0);
  });

  it("reads no remote address while no address has failed, and throttles one that did", async () => {
    const s = service([]);
    let reads = 0;
    const from = (address: string): Credentials => ({
      transport: "mqtt",
      get remoteAddress() {
        reads++;
        return address;
      },
    });
    expect(s.authenticateNow(from("10.0.0.1"))?.ok).toBe(true);
    expect(reads).toBe(0);
    const refused = await s.authenticate({
      transport: "mqtt",
      principal: "nobody",
      password: "x",
      remoteAddress: "10.0.0.2",
    });
    expect(refused.ok).toBe(false);
    // The failed address waits (no answer at once); another one is let in at once.
    expect(s.authenticateNow(from("10.0.0.2"))).toBeUndefined();
    expect(reads).toBeGreaterThan(0);
    expect(s.authenticateNow(from("10.0.0.1"))?.ok).toBe(true);
  });
});
