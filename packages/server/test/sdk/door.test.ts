import { CloseCodes, errorCodeNumber } from "@skein/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { FakeClock } from "../fake-clock.js";
import { ANONYMOUS_ADMIN, connectClient, startServer, waitFor, type TestServer } from "../helpers.js";
import { openRaw, openSession } from "./raw-sdk.js";

let srv: TestServer;
afterEach(async () => srv?.close());
const sdkUrl = () => `ws://127.0.0.1:${srv.addresses.http}/sdk`;

describe("SDK door: handshake and bad input", () => {
  it.each([
    [
      "a text message",
      (r: Awaited<ReturnType<typeof openRaw>>) => r.sendBytes("hello"),
      CloseCodes.INVALID_FRAME,
    ],
    [
      "bytes that are not MessagePack",
      (r: Awaited<ReturnType<typeof openRaw>>) => r.sendBytes(Buffer.from([0xc1])),
      CloseCodes.INVALID_FRAME,
    ],
    [
      "a request before hello",
      (r: Awaited<ReturnType<typeof openRaw>>) => r.send({ type: "ping", id: 1 }),
      CloseCodes.HANDSHAKE,
    ],
    [
      "an unknown frame without id",
      (r: Awaited<ReturnType<typeof openRaw>>) => r.send({ type: "nope" }),
      CloseCodes.INVALID_FRAME,
    ],
    [
      "no common version",
      (r: Awaited<ReturnType<typeof openRaw>>) => r.send({ type: "hello", versions: [99] }),
      CloseCodes.UNSUPPORTED_VERSION,
    ],
  ])("closes a connection that sends %s, counts it, and leaves others alone", async (_name, act, code) => {
    srv = await startServer();
    const good = await openSession(sdkUrl());
    const bad = await openRaw(sdkUrl());
    act(bad);
    expect((await bad.waitClosed()).code).toBe(code);
    expect(srv.server.metrics.total("sdk_connections_refused_total")).toBe(1);
    good.send({ type: "ping", id: 1 });
    expect(await good.next("result", (f) => f.id === 1)).toBeTruthy();
  });

  it("refuses a second hello", async () => {
    srv = await startServer();
    const raw = await openSession(sdkUrl());
    raw.send({ type: "hello", versions: [1] });
    expect((await raw.waitClosed()).code).toBe(CloseCodes.HANDSHAKE);
  });

  it("answers an invalid request that has an id with an error frame and keeps the connection", async () => {
    srv = await startServer();
    const raw = await openSession(sdkUrl());
    raw.send({ type: "set", id: 7, path: "a", valueType: "nope", value: Buffer.from("x") });
    const err = await raw.next("error", (f) => f.id === 7);
    expect(err.code).toBe(errorCodeNumber("INVALID_ARGUMENT"));
    raw.send({ type: "select", id: 8, selector: "?a/(" });
    expect((await raw.next("error", (f) => f.id === 8)).code).toBe(errorCodeNumber("INVALID_SELECTOR"));
    raw.send({ type: "add_topic", id: 9, path: "a/#", spec: { type: "json" } });
    expect((await raw.next("error", (f) => f.id === 9)).code).toBe(errorCodeNumber("INVALID_PATH"));
    raw.send({ type: "ping", id: 10 });
    await raw.next("result", (f) => f.id === 10);
    expect(raw.closed).toBeUndefined();
  });
});

describe("SDK door: resumption", () => {
  it("replays what a dropped connection missed, then continues, with nothing lost or duplicated", async () => {
    srv = await startServer();
    const first = await openSession(sdkUrl());
    const welcome = await first.next("welcome");
    first.send({ type: "add_topic", id: 1, path: "r/n", spec: { type: "int64" } });
    first.send({ type: "select", id: 2, selector: ">r/n" });
    await first.next("result", (f) => f.id === 2);
    const mqtt = await connectClient(srv.url("tcp"));
    for (let i = 1; i <= 5; i++) await mqtt.publishAsync("r/n", String(i), { qos: 1 });
    await waitFor(() => first.frames.filter((f) => f.type === "v").length === 5, "first values");
    const received = first.frames.length - 1; // every frame after welcome counts
    first.ws.terminate();
    await waitFor(() => srv.server.metrics.get("sdk_connections") === 0, "drop noticed");
    for (let i = 6; i <= 10; i++) await mqtt.publishAsync("r/n", String(i), { qos: 1 });
    const second = await openSession(sdkUrl(), {
      resume: { sessionId: welcome.sessionId, token: welcome.token, received },
    });
    const w2 = await second.next("welcome");
    expect(w2.resumed).toBe(true);
    expect(w2.sessionId).toBe(welcome.sessionId);
    expect(w2.processed).toBe(2);
    for (let i = 11; i <= 12; i++) await mqtt.publishAsync("r/n", String(i), { qos: 1 });
    await waitFor(() => second.frames.filter((f) => f.type === "v").length === 7, "replayed and new values");
    const values = second.frames.flatMap((f) => (f.type === "v" ? [Buffer.from(f.v).toString()] : []));
    expect(values).toEqual(["6", "7", "8", "9", "10", "11", "12"]);
    await mqtt.endAsync();
  });

  it("drops acknowledged frames from the replay buffer, still replays the rest, and refuses an ack of frames never sent", async () => {
    srv = await startServer();
    const first = await openSession(sdkUrl());
    const welcome = await first.next("welcome");
    first.send({ type: "add_topic", id: 1, path: "r/a", spec: { type: "int64" } });
    first.send({ type: "select", id: 2, selector: ">r/a" });
    await first.next("result", (f) => f.id === 2);
    const mqtt = await connectClient(srv.url("tcp"));
    for (let i = 1; i <= 4; i++) await mqtt.publishAsync("r/a", String(i), { qos: 1 });
    await waitFor(() => first.frames.filter((f) => f.type === "v").length === 4, "values");
    const received = first.frames.length - 1; // results 1 and 2, the topic frame, 4 values
    expect(srv.server.metrics.get("sdk_replay_frames")).toBe(received);
    // Not a request: no answer, not counted as processed (the resuming welcome says 2 below).
    first.send({ type: "ack", received: received - 2 });
    await waitFor(() => srv.server.metrics.get("sdk_replay_frames") === 2, "acknowledged frames dropped");
    expect(srv.server.metrics.get("sdk_replay_bytes")).toBeGreaterThan(0);
    first.ws.terminate();
    await waitFor(() => srv.server.metrics.get("sdk_connections") === 0, "drop noticed");
    const second = await openSession(sdkUrl(), {
      resume: { sessionId: welcome.sessionId, token: welcome.token, received: received - 2 },
    });
    const w2 = await second.next("welcome");
    expect([w2.resumed, w2.processed]).toEqual([true, 2]);
    await waitFor(() => second.frames.filter((f) => f.type === "v").length === 2, "the two unacknowledged");
    expect(second.frames.flatMap((f) => (f.type === "v" ? [Buffer.from(f.v).toString()] : []))).toEqual([
      "3",
      "4",
    ]);
    // Replayed, they stay held until acknowledged.
    expect(srv.server.metrics.get("sdk_replay_frames")).toBe(2);
    second.send({ type: "ack", received: received + 1 });
    expect((await second.waitClosed()).code).toBe(CloseCodes.INVALID_FRAME);
    expect(srv.server.metrics.total("sdk_invalid_frames_total")).toBe(1);
    await mqtt.endAsync();
  });

  it("starts a new session when the token is wrong or the session timed out", async () => {
    const clock = new FakeClock();
    srv = await startServer({ sdk: { reconnectTimeoutMs: 50 } }, { clock });
    const metrics = srv.server.metrics;
    const first = await openSession(sdkUrl());
    const welcome = await first.next("welcome");
    const wrong = await openSession(sdkUrl(), {
      resume: { sessionId: welcome.sessionId, token: "x", received: 0 },
    });
    expect((await wrong.next("welcome")).resumed).toBe(false);
    first.ws.terminate();
    await waitFor(() => metrics.get("sdk_connections") === 1, "drop noticed");
    clock.advance(49);
    expect(metrics.get("sdk_sessions")).toBe(2); // still waiting for a resumption
    clock.advance(1);
    expect(metrics.get("sdk_sessions")).toBe(1);
    const late = await openSession(sdkUrl(), {
      resume: { sessionId: welcome.sessionId, token: welcome.token, received: 0 },
    });
    const w = await late.next("welcome");
    expect(w.resumed).toBe(false);
    expect(w.sessionId).not.toBe(welcome.sessionId);
  });

  it("pings every sdk.heartbeatMs and terminates a connection that answered no ping", async () => {
    const clock = new FakeClock();
    srv = await startServer({ sdk: { heartbeatMs: 60_000 } }, { clock });
    const answering = await openSession(sdkUrl());
    const silent = await openSession(sdkUrl(), {}, { autoPong: false });
    const pings = { answering: 0, silent: 0 };
    answering.ws.on("ping", () => pings.answering++);
    silent.ws.on("ping", () => pings.silent++);
    clock.advance(60_000);
    await waitFor(() => pings.answering === 1 && pings.silent === 1, "a ping on each connection");
    // A request after the ping: the server has the automatic pong (sent first) when it answers.
    answering.send({ type: "ping", id: 1 });
    await answering.next("result", (f) => f.id === 1);
    clock.advance(60_000);
    expect((await silent.waitClosed()).code).toBe(1006); // terminated, no closing handshake
    await waitFor(() => pings.answering === 2, "the next ping");
    answering.send({ type: "ping", id: 2 });
    await answering.next("result", (f) => f.id === 2);
    expect(answering.closed).toBeUndefined();
  });

  it("ends the session at once on a clean close (code 1000)", async () => {
    srv = await startServer();
    const first = await openSession(sdkUrl());
    const welcome = await first.next("welcome");
    first.ws.close(1000);
    await waitFor(() => srv.server.metrics.get("sdk_sessions") === 0, "session ended");
    const again = await openSession(sdkUrl(), {
      resume: { sessionId: welcome.sessionId, token: welcome.token, received: 0 },
    });
    expect((await again.next("welcome")).resumed).toBe(false);
  });
});

describe("SDK door: topic removal", () => {
  it("tells SDK sessions (untopic) and MQTT subscribers (an empty message marked topic-removed)", async () => {
    srv = await startServer();
    const sdk = await openSession(sdkUrl());
    sdk.send({ type: "add_topic", id: 1, path: "gone/a", spec: { type: "string" } });
    sdk.send({ type: "select", id: 2, selector: ">gone//" });
    const topic = await sdk.next("topic", (f) => f.path === "gone/a");
    const mqtt = await connectClient(srv.url("tcp"), { protocolVersion: 5 });
    const got: { topic: string; payload: Buffer; props: unknown }[] = [];
    mqtt.on("message", (t, p, pk) => got.push({ topic: t, payload: p, props: pk.properties }));
    await mqtt.subscribeAsync("gone/#", { qos: 1 });
    sdk.send({ type: "remove_topics", id: 3, selector: ">gone//" });
    expect((await sdk.next("result", (f) => f.id === 3)).value).toBe(1);
    const untopic = await sdk.next("untopic");
    expect(untopic).toMatchObject({ tid: topic.tid, reason: "removed" });
    await waitFor(() => got.length === 1, "removal notice over MQTT");
    expect(got[0]!.topic).toBe("gone/a");
    expect(got[0]!.payload.length).toBe(0);
    expect(got[0]!.props).toMatchObject({ userProperties: { "skein-event": "topic-removed" } });
    expect(srv.server.getTopic("gone/a")).toBeUndefined();
    await mqtt.endAsync();
  });
});

describe("SDK door: selections that share an MQTT filter", () => {
  it("keeps a filter subscribed while any selection holds it, and unsubscribes it with the last", async () => {
    srv = await startServer();
    const sdk = await openSession(sdkUrl());
    await sdk.next("welcome");
    sdk.send({ type: "add_topic", id: 1, path: "f/a", spec: { type: "int64" } });
    // `>f/a` and the set share the filter `f/a`; the set also holds `f/b`.
    sdk.send({ type: "select", id: 2, selector: ">f/a" });
    sdk.send({ type: "select", id: 3, selector: "#>f/a////>f/b" });
    sdk.send({ type: "unselect", id: 4, selector: "#>f/a////>f/b" });
    await sdk.next("result", (f) => f.id === 4);
    const mqtt = await connectClient(srv.url("tcp"));
    const values = () => sdk.frames.filter((f) => f.type === "v").length;
    await mqtt.publishAsync("f/a", "1", { qos: 1 });
    await waitFor(() => values() === 1, "value through the remaining selection");
    sdk.send({ type: "unselect", id: 5, selector: ">f/a" });
    await sdk.next("result", (f) => f.id === 5);
    await mqtt.publishAsync("f/a", "2", { qos: 1 });
    // A ping answered after the publish: a delivery, had there been one, would have come first.
    sdk.send({ type: "ping", id: 6 });
    await sdk.next("result", (f) => f.id === 6);
    expect(values()).toBe(1);
    await mqtt.endAsync();
  });
});

describe("SDK door: a session's list of selections", () => {
  it("unselects the first, a middle and the last selection; listings keep the order they were made in", async () => {
    srv = await startServer(ANONYMOUS_ADMIN);
    const sdk = await openSession(sdkUrl());
    const welcome = await sdk.next("welcome");
    const subscriptions = async (id: number) => {
      sdk.send({ type: "get_subscriptions", id, sessionId: welcome.sessionId });
      const result = await sdk.next("result", (f) => f.id === id);
      return (result.value as { subscription: string }[]).map((s) => s.subscription);
    };
    // A `>` selection (held as its MQTT filter), a regex one (a pattern), a set (two filters), another `>`.
    const selectors = [">l/a", "*l/b[0-9]", "#>l/c//////>l/d", ">l/e//"];
    selectors.forEach((selector, i) => sdk.send({ type: "select", id: 10 + i, selector }));
    await sdk.next("result", (f) => f.id === 13);
    expect(await subscriptions(20)).toEqual(selectors);
    sdk.send({ type: "unselect", id: 21, selector: "*l/b[0-9]" });
    sdk.send({ type: "unselect", id: 22, selector: ">l/a" });
    sdk.send({ type: "unselect", id: 23, selector: ">l/e//" });
    await sdk.next("result", (f) => f.id === 23);
    expect(await subscriptions(24)).toEqual(["#>l/c//////>l/d"]);
    // Only the set is left: its topics are told, the others' are not.
    for (const [i, path] of ["l/a", "l/b1", "l/c/x", "l/d", "l/e/x"].entries()) {
      sdk.send({ type: "add_topic", id: 30 + i, path, spec: { type: "int64" } });
    }
    await sdk.next("result", (f) => f.id === 34);
    sdk.send({ type: "ping", id: 40 });
    await sdk.next("result", (f) => f.id === 40);
    const told = sdk.frames.flatMap((f) => (f.type === "topic" ? [f.path] : []));
    expect(told.sort()).toEqual(["l/c/x", "l/d"]);
    sdk.send({ type: "select", id: 41, selector: ">l/a" });
    await sdk.next("result", (f) => f.id === 41);
    expect(await subscriptions(42)).toEqual(["#>l/c//////>l/d", ">l/a"]);
  });
});
