/** Mosquitto ACLs onto Skein path prefixes: what maps exactly, and what is refused (mapping.ts). */
import type { RoleDefinition, SecurityStoreView } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import {
  Inexpressible,
  aclsOf,
  checkExact,
  permissionsOf,
  prefixOf,
  topicOf,
  withAcl,
  withoutAcl,
} from "./mapping.js";

describe("ACL topic filters as path prefixes", () => {
  it.each([
    ["#", ""],
    ["sensors/#", "sensors"],
    ["a/b/c/#", "a/b/c"],
    ["users/%u/#", "users/{principal}"],
    ["devices/%c/in/#", "devices/{clientId}/in"],
    ["$SYS/#", "$SYS"],
  ])("%s is the prefix '%s', and back", (topic, prefix) => {
    expect(prefixOf(topic)).toBe(prefix);
    expect(topicOf(prefix)).toBe(topic);
  });

  it.each([
    ["sensors/+/temp", /'\+'/],
    ["+/#", /'\+'/],
    ["a/#/b", /'\+' and a '#'/],
    ["plant/line1", /use 'plant\/line1\/#'/],
    ["users/x%u/#", /whole topic level/],
    ["a/{b}/#", /\{ \}/],
    ["a//#", /empty topic level/],
    ["/#", /empty topic level/],
  ])("%s is refused", (topic, why) => {
    expect(() => prefixOf(topic)).toThrow(Inexpressible);
    expect(() => prefixOf(topic)).toThrow(why);
  });

  it("maps ACL types to permissions; unsubscribe ACLs are refused", () => {
    expect(permissionsOf("publishClientSend")).toEqual(["update_topic", "modify_topic"]);
    expect(permissionsOf("publishClientReceive")).toEqual(["read_topic"]);
    expect(permissionsOf("subscribeLiteral")).toEqual(["select_topic"]);
    expect(permissionsOf("subscribePattern")).toEqual(["select_topic"]);
    expect(() => permissionsOf("unsubscribePattern")).toThrow(/never refuses an UNSUBSCRIBE/);
  });
});

const empty: RoleDefinition = { name: "r", global: [], paths: {}, includes: [] };

describe("adding and removing ACLs", () => {
  it("adds up at one prefix, refuses a duplicate, removes the assignment with its last ACL", () => {
    let r = withAcl(empty, "a", ["read_topic"]);
    r = withAcl(r, "a", ["update_topic", "modify_topic"]);
    expect(r.paths).toEqual({ a: ["read_topic", "update_topic", "modify_topic"] });
    expect(() => withAcl(r, "a", ["read_topic"])).toThrow("ACL with this topic already exists");
    r = withoutAcl(r, "a", ["update_topic", "modify_topic"]);
    expect(r.paths).toEqual({ a: ["read_topic"] });
    expect(() => withoutAcl(r, "b", ["read_topic"])).toThrow("ACL not found");
    expect(() => withoutAcl(r, "a", ["select_topic"])).toThrow("ACL not found");
    // Never an explicit empty set (which would mean "nothing here").
    expect(withoutAcl(r, "a", ["read_topic"]).paths).toEqual({});
  });

  it("shows an explicit empty set as deny entries, and leaves out permissions no ACL names", () => {
    const r: RoleDefinition = { ...empty, paths: { "": ["send_to_message_handler"], hr: [] } };
    expect(aclsOf(r)).toEqual([
      { acltype: "publishClientSend", topic: "hr/#", priority: 0, allow: false },
      { acltype: "publishClientReceive", topic: "hr/#", priority: 0, allow: false },
      { acltype: "subscribePattern", topic: "hr/#", priority: 0, allow: false },
    ]);
  });
});

describe("changes Skein would not express exactly", () => {
  const view = (roles: RoleDefinition[], principals = [{ name: "alice", roles: ["r1", "r2"] }]) =>
    ({ principals, roles }) satisfies SecurityStoreView;

  it("refuses a prefix that would hide what a shorter one of the same role grants", () => {
    const r1: RoleDefinition = { ...empty, name: "r1", paths: { "": ["read_topic"] } };
    const before = view([r1], []);
    const after = view([withAcl(r1, "a", ["update_topic", "modify_topic"])], []);
    expect(() => checkExact(before, after, { role: "r1" })).toThrow(
      /for role r1, 'a\/#' would hide publishClientReceive granted on '#'/,
    );
    // With the shorter prefix's grant given there too, it is exact.
    const both = view([withAcl(withAcl(r1, "a", ["read_topic"]), "a", ["update_topic"])], []);
    expect(() => checkExact(before, both, { role: "r1" })).not.toThrow();
  });

  it("refuses a role for a principal whose other role it would hide", () => {
    const r1: RoleDefinition = { ...empty, name: "r1", paths: { "": ["read_topic"] } };
    const r2: RoleDefinition = { ...empty, name: "r2", paths: { a: ["update_topic"] } };
    const before = view([r1, r2], [{ name: "alice", roles: ["r1"] }]);
    const after = view([r1, r2], [{ name: "alice", roles: ["r1", "r2"] }]);
    expect(() => checkExact(before, after, { principal: "alice" })).toThrow(/for principal alice/);
  });

  it("lets alone what was inexact before (an explicit empty set set up through the SDK)", () => {
    const r1: RoleDefinition = { ...empty, name: "r1", paths: { "": ["read_topic"], hr: [] } };
    const before = view([r1]);
    const after = view([withAcl(r1, "b", ["read_topic", "select_topic"])]);
    expect(() => checkExact(before, after, { role: "r1" })).not.toThrow();
  });
});
