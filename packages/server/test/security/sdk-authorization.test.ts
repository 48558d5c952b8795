/**
 * The SDK door under an Authorizer that refuses (issue 14 §1-2), over a real WebSocket: every
 * operation refused answers its request's error frame with NOT_AUTHORIZED and changes nothing; fetch
 * and select leave out the topics the session may not read, and its value stream gets nothing of them.
 */
import { type ServerFrame, errorCodeNumber } from "@skein/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { type TestServer, startServer, trustClaimedNames } from "../helpers.js";
import { type RawSdk, openSession } from "../sdk/raw-sdk.js";
import { type DenyRule, DenyRules } from "./test-authorizer.js";

let srv: TestServer | undefined;
const sockets: RawSdk[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.ws.terminate();
  await srv?.close();
  srv = undefined;
});

async function start(rules: DenyRule[]): Promise<void> {
  srv = await startServer({}, { authorizer: new DenyRules(rules), authenticators: [trustClaimedNames] });
}

async function session(principal: string): Promise<RawSdk> {
  const s = await openSession(`ws://127.0.0.1:${srv!.addresses.http}/sdk`, { principal });
  sockets.push(s);
  return s;
}

let nextId = 1;
/** Sends a request frame and waits for its answer (result or error). */
async function request(s: RawSdk, frame: Record<string, unknown>): Promise<ServerFrame> {
  const id = nextId++;
  s.send({ ...frame, id });
  return Promise.race([
    s.next("result", (f) => f.id === id),
    s.next("error", (f) => f.id === id),
  ]) as Promise<ServerFrame>;
}

const NOT_AUTHORIZED = errorCodeNumber("NOT_AUTHORIZED");
const json = (v: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(v));

describe("SDK door: operations refused by the Authorizer", () => {
  it.each<[string, DenyRule, Record<string, unknown>]>([
    ["add_topic", { permission: "modify_topic" }, { type: "add_topic", path: "t/a", spec: { type: "json" } }],
    [
      "set (creating)",
      { permission: "modify_topic" },
      { type: "set", path: "t/new", valueType: "json", value: json(1), spec: { type: "json" } },
    ],
    ["set", { permission: "update_topic" }, { type: "set", path: "t/x", valueType: "json", value: json(2) }],
    ["remove_topics", { permission: "modify_topic" }, { type: "remove_topics", selector: ">t//" }],
    ["fetch", { permission: "select_topic" }, { type: "fetch", selector: "?t/.*" }],
    ["select", { permission: "select_topic" }, { type: "select", selector: ">t/x" }],
    ["add_handler", { permission: "register_handler" }, { type: "add_handler", kind: "path", path: "svc" }],
    [
      "send_request (path)",
      { permission: "send_to_message_handler" },
      { type: "send_request", path: "svc", requestType: "json", responseType: "json", value: json(1) },
    ],
    [
      "send_request (filter)",
      { permission: "send_to_session" },
      {
        type: "send_request",
        path: "svc",
        requestType: "json",
        responseType: "json",
        value: json(1),
        target: { filter: "$Transport is 'sdk'" },
      },
    ],
    ["list_sessions", { permission: "view_session" }, { type: "list_sessions" }],
    [
      "close_sessions",
      { permission: "modify_session" },
      { type: "close_sessions", target: { filter: "all" } },
    ],
    ["lock", { permission: "update_topic" }, { type: "lock", name: "t/lock" }],
  ])("refuses %s with NOT_AUTHORIZED", async (_name, rule, frame) => {
    await start([{ ...rule, principal: "bob" }]);
    const alice = await session("alice");
    // Something to act on, made by a session that may.
    expect(await request(alice, { type: "add_topic", path: "t/x", spec: { type: "json" } })).toMatchObject({
      type: "result",
    });
    const bob = await session("bob");
    expect(await request(bob, frame)).toMatchObject({ type: "error", code: NOT_AUTHORIZED });
    // Nothing changed: the topic is still there, nothing was made.
    expect(srv!.server.getTopic("t/x")).toBeDefined();
    expect(srv!.server.getTopic("t/a")).toBeUndefined();
    expect(srv!.server.getTopic("t/new")).toBeUndefined();
    expect(srv!.server.metrics.get("sdk_request_errors_total", { code: "NOT_AUTHORIZED" })).toBe(1);
  });
});

describe("SDK door: what a session may not read it is not given", () => {
  it("leaves unreadable topics out of fetch results (not counted against the page)", async () => {
    await start([{ permission: "read_topic", principal: "carol", prefix: "f/secret" }]);
    const alice = await session("alice");
    for (const path of ["f/a", "f/secret/1", "f/secret/2", "f/z"])
      await request(alice, {
        type: "set",
        path,
        valueType: "json",
        value: json(path),
        spec: { type: "json" },
      });
    const carol = await session("carol");
    const page = await request(carol, { type: "fetch", selector: "?f//", first: 2, withValues: true });
    expect(page).toMatchObject({ type: "result", value: { hasMore: false } });
    const topics = (page as { value: { topics: { path: string }[] } }).value.topics;
    expect(topics.map((t) => t.path)).toEqual(["f/a", "f/z"]);
    const all = await request(alice, { type: "fetch", selector: "?f//" });
    expect((all as { value: { topics: unknown[] } }).value.topics).toHaveLength(4);
  });

  it("tells a selecting session only readable topics and sends it no values of the others", async () => {
    await start([{ permission: "read_topic", principal: "carol", prefix: "s/secret" }]);
    const alice = await session("alice");
    for (const path of ["s/open", "s/secret"])
      await request(alice, { type: "set", path, valueType: "json", value: json(0), spec: { type: "json" } });
    const carol = await session("carol");
    expect(await request(carol, { type: "select", selector: "?s//" })).toMatchObject({ type: "result" });
    // A topic added later under the selection is told only when readable.
    await request(alice, { type: "add_topic", path: "s/secret/later", spec: { type: "json" } });
    await request(alice, { type: "set", path: "s/secret", valueType: "json", value: json(1) });
    await request(alice, { type: "set", path: "s/open", valueType: "json", value: json(1) });
    await carol.next("v");
    const told = carol.frames.filter((f) => f.type === "topic").map((f) => (f as { path: string }).path);
    expect(told).toEqual(["s/open"]);
    expect(carol.frames.filter((f) => f.type === "v")).toHaveLength(1);
  });
});
