/**
 * Dropped connections over real sockets. The test drops the subscriber's TCP connection with the SDK's
 * internal `session.simulateDrop()` (ws `terminate()`: no close handshake, as a network failure), then
 * checks that the session resumes with nothing lost, nothing duplicated and order kept, or, past the
 * server's `sdk.reconnectTimeoutMs`, that the application is told it has a new session.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { SessionEvents } from "../src/index.js";
import { FakeClock, type SdkFixture, codeOf, recorder, startSdkServer, waitFor } from "./helpers.js";

let f: SdkFixture;
afterEach(() => f.close());

describe("resumption", () => {
  it("resumes a stream dropped mid-flow: every update once, in order", async () => {
    f = await startSdkServer();
    const publisher = await f.connect();
    const subscriber = await f.connect();
    await publisher.topics.add("res/n", { type: "int64" });
    await subscriber.select(">res/n");
    const stream = recorder<bigint>();
    subscriber.addStream(">res/n", "int64", stream);
    await waitFor(() => stream.events.length === 1, "subscription");
    const events: string[] = [];
    subscriber.on("disconnected", () => events.push("disconnected"));
    subscriber.on("reconnected", ({ resumed }) => events.push(`reconnected resumed=${resumed}`));

    const updates: Promise<void>[] = [];
    for (let i = 1n; i <= 200n; i++) {
      updates.push(publisher.set("res/n", "int64", i));
      if (i === 100n) {
        await updates.at(-1);
        subscriber.simulateDrop();
      }
      if (i % 20n === 0n) await updates.at(-1);
    }
    await Promise.all(updates);
    await waitFor(() => stream.events.length === 201, "200 values", 10_000);
    const values = stream.events.slice(1).map((e) => (e.kind === "value" ? e.value : undefined));
    expect(values).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(i + 1)));
    const olds = stream.events.slice(1).map((e) => (e.kind === "value" ? e.old : "x"));
    expect(olds).toEqual([undefined, ...values.slice(0, -1)]);
    expect(events).toEqual(["disconnected", "reconnected resumed=true"]);
  });

  it("acknowledges what it received, so the server's replay buffers empty, and resumes exactly after acks", async () => {
    // Small buffers: without acks the publisher's results alone would fill them.
    f = await startSdkServer({ sdk: { replayBufferFrames: 1500 } });
    const publisher = await f.connect();
    const subscriber = await f.connect();
    await publisher.topics.add("ack/n", { type: "int64" });
    await subscriber.select(">ack/n");
    const stream = recorder<bigint>();
    subscriber.addStream(">ack/n", "int64", stream);
    await waitFor(() => stream.events.length === 1, "subscription");
    const held = () => f.server.server.metrics.get("sdk_replay_frames");
    const publish = async (from: number, to: number) => {
      for (let i = from; i <= to; i += 100) {
        const batch = [];
        for (let j = i; j < i + 100 && j <= to; j++) batch.push(publisher.set("ack/n", "int64", BigInt(j)));
        await Promise.all(batch);
      }
    };
    // 3,000 values and 3,000 results: twice the buffers' bound, so only acks keep them covering.
    await publish(1, 3000);
    await waitFor(() => stream.events.length === 3001, "3,000 values", 10_000);
    await waitFor(() => held() === 0, "every frame acknowledged (after at most 250 ms)");
    await publish(3001, 3600);
    subscriber.simulateDrop();
    await publish(3601, 4000);
    await waitFor(() => stream.events.length === 4001, "4,000 values", 10_000);
    const values = stream.events.slice(1).map((e) => (e.kind === "value" ? e.value : undefined));
    expect(values).toEqual(Array.from({ length: 4000 }, (_, i) => BigInt(i + 1)));
    await waitFor(() => held() === 0, "acknowledged again after the resumption");
  });

  it("re-sends the requests made while disconnected, each processed once, in order", async () => {
    f = await startSdkServer();
    const session = await f.connect();
    const watcher = await f.connect();
    await session.topics.add("res/own", { type: "int64" });
    await watcher.select(">res/own");
    const seen = recorder<bigint>();
    watcher.addStream(">res/own", "int64", seen);
    await waitFor(() => seen.events.length === 1, "subscription");
    const id = session.sessionId;
    session.simulateDrop();
    const sets = Array.from({ length: 20 }, (_, i) => session.set("res/own", "int64", BigInt(i + 1)));
    // The socket is gone: these wait in the outbox and are sent once the session is resumed.
    await Promise.all(sets);
    expect(session.sessionId).toBe(id);
    await waitFor(() => seen.events.length === 21, "20 values");
    expect(seen.events.slice(1).map((e) => e.kind === "value" && e.value)).toEqual(
      Array.from({ length: 20 }, (_, i) => BigInt(i + 1)),
    );
  });

  it("tells the application when the session was not resumed in time, and works as a new session", async () => {
    const clock = new FakeClock();
    f = await startSdkServer({ sdk: { reconnectTimeoutMs: 50 } }, { clock });
    const session = await f.connect({ reconnect: { initialDelayMs: 400, maxDelayMs: 400, timeoutMs: 5000 } });
    await session.topics.addAndSet("lost/a", { type: "string" }, "a");
    await session.select(">lost//");
    const stream = recorder<string>();
    session.addStream(">lost//", "string", stream);
    await waitFor(() => stream.events.length === 1, "subscription");
    const first = session.sessionId;
    const reconnected = new Promise<SessionEvents["reconnected"]>((resolve) =>
      session.once("reconnected", resolve),
    );
    session.simulateDrop();
    const waiting = session.set("lost/a", "string", "sent while disconnected");
    // The server sees the drop and, its reconnection timeout passed, ends the session before the
    // client's reconnection (400 ms later) can resume it.
    await waitFor(() => f.server.server.metrics.get("sdk_connections") === 0, "the server to see the drop");
    clock.advance(50);
    expect(f.server.server.metrics.get("sdk_sessions")).toBe(0);
    expect(await codeOf(waiting)).toBe("SESSION_NOT_RESUMED");
    expect(await reconnected).toEqual({
      resumed: false,
      sessionId: session.sessionId,
      previousSessionId: first,
    });
    expect(session.sessionId).not.toBe(first);
    expect(stream.events.at(-1)).toEqual({ kind: "unsubscribe", path: "lost/a", reason: "session-lost" });
    expect(new TextDecoder().decode(f.server.server.getTopic("lost/a")?.value)).toBe("a");
    // A new session selects nothing until asked; the stream is still registered.
    await session.select(">lost//");
    await waitFor(() => stream.events.length === 3, "re-subscription");
    expect(stream.events[2]).toEqual({ kind: "subscribe", path: "lost/a", type: "string", value: "a" });
  });
});
