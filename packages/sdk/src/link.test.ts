/**
 * The link's resumption bookkeeping against an in-memory fake server that loses frames on demand:
 * nothing lost, nothing duplicated, order kept; a session that cannot be resumed is reported.
 */
import { CloseCodes, SkeinError } from "@skein/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { FakeServer } from "../test/fake-server.js";
import { type ConnectOptions, type Session, connect } from "./index.js";

const sessions: Session[] = [];
afterEach(async () => {
  await Promise.all(sessions.splice(0).map((s) => s.close()));
});

async function open(server: FakeServer, options: ConnectOptions = {}): Promise<Session> {
  const session = await connect("ws://fake/sdk", {
    transport: server.transport,
    reconnect: { initialDelayMs: 1, maxDelayMs: 5, timeoutMs: 1000 },
    ...options,
  });
  sessions.push(session);
  return session;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > 2000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const sets = (server: FakeServer, id: string): unknown[] =>
  server.sessions
    .get(id)!
    .frames.flatMap((f) => (f.type === "set" ? [new TextDecoder().decode(f.value)] : []));

describe("link: requests and resumption", () => {
  it("answers requests while connected", async () => {
    const server = new FakeServer();
    const session = await open(server);
    expect(session.state).toBe("connected");
    await session.set("a", "string", "x");
    expect(sets(server, session.sessionId)).toEqual(["x"]);
  });

  it("re-sends the frames the server did not get, once each and in order", async () => {
    const server = new FakeServer();
    const session = await open(server);
    await session.set("a", "string", "0");
    server.loseIncoming = true;
    const pending = Array.from({ length: 5 }, (_, i) => session.set("a", "string", String(i + 1)));
    await until(() => server.lostRequests === 5, "the five sets to be lost");
    server.loseIncoming = false;
    const events: string[] = [];
    session.on("disconnected", () => events.push("disconnected"));
    session.on("reconnected", ({ resumed }) => events.push(`reconnected ${resumed}`));
    session.simulateDrop();
    await Promise.all(pending);
    expect(sets(server, session.sessionId)).toEqual(["0", "1", "2", "3", "4", "5"]);
    expect(events).toEqual(["disconnected", "reconnected true"]);
  });

  it("gets the answers the server sent while the connection was dropping, once each", async () => {
    const server = new FakeServer();
    const session = await open(server);
    server.loseOutgoing = true;
    const results: number[] = [];
    const pending = Array.from({ length: 5 }, (_, i) =>
      session.set("a", "string", String(i)).then(() => results.push(i)),
    );
    await until(() => server.sessions.get(session.sessionId)!.processed === 5, "processing");
    server.loseOutgoing = false;
    session.simulateDrop();
    await Promise.all(pending);
    expect(results).toEqual([0, 1, 2, 3, 4]);
    // Processed once each: none was re-sent, since welcome.processed covered them.
    expect(sets(server, session.sessionId)).toEqual(["0", "1", "2", "3", "4"]);
  });

  it("delivers every pushed value once, in order, across a drop", async () => {
    const server = new FakeServer();
    const session = await open(server);
    const fake = server.sessions.get(session.sessionId)!;
    const got: string[] = [];
    server.push(fake, { type: "topic", tid: 7, path: "a", spec: { type: "string" } });
    session.addStream(">a", "string", { onValue: (_p, _s, v) => got.push(v) });
    const text = (i: number) => new TextEncoder().encode(String(i));
    for (let i = 1; i <= 50; i++) {
      if (i === 20) server.loseOutgoing = true;
      server.push(fake, { type: "v", t: 7, v: text(i) });
    }
    await until(() => got.length === 19, "the values before the loss");
    server.loseOutgoing = false;
    session.simulateDrop();
    for (let i = 51; i <= 60; i++) server.push(fake, { type: "v", t: 7, v: text(i) });
    await until(() => got.length >= 60, "60 values");
    await session.ping(); // a duplicate would have been delivered before the ping's answer
    expect(got).toEqual(Array.from({ length: 60 }, (_, i) => String(i + 1)));
  });

  it("reports a session that could not be resumed and fails what waited with SESSION_NOT_RESUMED", async () => {
    const server = new FakeServer();
    const session = await open(server);
    const first = session.sessionId;
    const unsubscribed: string[] = [];
    server.push(server.sessions.get(first)!, { type: "topic", tid: 1, path: "a", spec: { type: "string" } });
    session.addStream(">a", "string", { onUnsubscribe: (p, reason) => unsubscribed.push(`${p} ${reason}`) });
    await until(() => unsubscribed.length === 0 && session.state === "connected", "topic");
    server.resumable = false;
    server.loseIncoming = true;
    const pending = session.set("a", "string", "x");
    await until(() => server.lostRequests === 1, "the set to be lost");
    server.loseIncoming = false;
    const reconnected = new Promise((resolve) => session.once("reconnected", resolve));
    session.simulateDrop();
    await expect(pending).rejects.toMatchObject({ code: "SESSION_NOT_RESUMED" });
    expect(await reconnected).toEqual({
      resumed: false,
      sessionId: session.sessionId,
      previousSessionId: first,
    });
    expect(session.sessionId).not.toBe(first);
    await until(() => unsubscribed.length > 0, "unsubscribe");
    expect(unsubscribed).toEqual(["a session-lost"]);
    // The new session works, numbering from 1 again.
    await session.set("a", "string", "y");
    expect(server.sessions.get(session.sessionId)!.processed).toBe(1);
  });

  it("close() ends the session: code 1000, waiting requests fail with SESSION_CLOSED", async () => {
    const server = new FakeServer();
    const session = await open(server);
    server.autoAnswer = false;
    const pending = session.ping().catch((err: unknown) => err);
    const closed = new Promise((resolve) => session.once("closed", resolve));
    await session.close();
    expect(await pending).toMatchObject({ code: "SESSION_CLOSED" });
    expect(await closed).toEqual({ error: undefined });
    expect(session.state).toBe("closed");
    expect(server.sessions.size).toBe(0);
    await expect(session.ping()).rejects.toMatchObject({ code: "SESSION_CLOSED" });
  });

  it("times a request out while connected, but not while waiting for resumption", async () => {
    const server = new FakeServer();
    const session = await open(server, {
      requestTimeoutMs: 50,
      reconnect: { initialDelayMs: 100, timeoutMs: 1000 },
    });
    server.autoAnswer = false;
    await expect(session.ping()).rejects.toMatchObject({ code: "TIMEOUT" });
    server.autoAnswer = true;
    server.loseIncoming = true;
    const pending = session.ping();
    await until(() => server.lostRequests === 1, "the ping to be lost");
    server.loseIncoming = false;
    session.simulateDrop();
    // The reconnection waits ~100 ms, longer than the request timeout: the request still succeeds.
    await expect(pending).resolves.toBeTypeOf("number");
  });

  it("does not reconnect after a final close code, and says why", async () => {
    const server = new FakeServer();
    const session = await open(server);
    const closed = new Promise<{ error: SkeinError | undefined }>((resolve) =>
      session.once("closed", resolve),
    );
    server.current!.end(CloseCodes.TAKEN_OVER, "taken over");
    expect((await closed).error?.code).toBe("SESSION_TAKEN_OVER");
    expect(server.connections.length).toBe(1);
  });

  it("refuses to connect when the server refuses the hello", async () => {
    const server = new FakeServer();
    server.refuseWith = CloseCodes.NOT_AUTHENTICATED;
    await expect(open(server)).rejects.toMatchObject({ code: "NOT_AUTHENTICATED" });
  });

  it("gives up reconnecting after reconnect.timeoutMs", async () => {
    const server = new FakeServer();
    const session = await open(server, { reconnect: { initialDelayMs: 5, maxDelayMs: 10, timeoutMs: 60 } });
    server.refuseWith = 1011;
    const attempts: number[] = [];
    session.on("reconnecting", ({ attempt }) => attempts.push(attempt));
    const closed = new Promise<{ error: SkeinError | undefined }>((resolve) =>
      session.once("closed", resolve),
    );
    session.simulateDrop();
    expect((await closed).error?.code).toBe("SESSION_CLOSED");
    expect(attempts.length).toBeGreaterThan(1);
  });

  it("pings a silent server, and drops and resumes a connection that stays silent", async () => {
    const server = new FakeServer();
    const session = await open(server, { heartbeatMs: 20 });
    const fake = server.sessions.get(session.sessionId)!;
    await until(() => fake.frames.some((f) => f.type === "ping"), "a heartbeat ping");
    expect(server.connections).toHaveLength(1);
    server.loseOutgoing = true; // a half-open connection: nothing arrives, no close either
    const reconnected = new Promise((resolve) => session.once("reconnected", resolve));
    await new Promise((resolve) => session.once("disconnected", resolve)); // the silence was noticed
    server.loseOutgoing = false;
    expect(await reconnected).toMatchObject({ resumed: true });
    expect(server.connections.length).toBeGreaterThan(1);
  });

  it("refuses more waiting requests than maxPendingRequests with RATE_LIMITED", async () => {
    const server = new FakeServer();
    const session = await open(server, { maxPendingRequests: 2 });
    server.autoAnswer = false;
    void session.ping().catch(() => {});
    void session.ping().catch(() => {});
    await expect(session.ping()).rejects.toBeInstanceOf(SkeinError);
    await expect(session.ping()).rejects.toMatchObject({ code: "RATE_LIMITED" });
  });
});
