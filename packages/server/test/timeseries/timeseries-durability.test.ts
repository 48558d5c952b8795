/**
 * Time series and the store (issue 9 §1-2, docs/durability.md, docs/timeseries.md): an SDK append and
 * an MQTT QoS 1 publish to a persistent series are answered only once the event is committed; events
 * survive a restart on the same sqlite data directory (appended by SDK, MQTT 5 and MQTT 3.1.1), sequences
 * continue and the retained range still holds, a `durationMs` that passed while the server was down
 * included; `retainedRange.durationMs` is applied over time by the sweep, for a persistent series (sqlite)
 * and a non-persistent one (memory).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { connect } from "../../../sdk/src/index.js";
import type { TimeSeriesEvent } from "../../src/core/storage.js";
import { MemoryStorage } from "../../src/storage/memory-store.js";
import { FakeClock } from "../fake-clock.js";
import { startServer, type TestServer, trustClaimedNames } from "../helpers.js";
import { RawClient } from "../raw-client.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function server(...[config, deps]: Parameters<typeof startServer>): Promise<TestServer> {
  const srv = await startServer(config, { authenticators: [trustClaimedNames], ...deps });
  let closed = false;
  cleanup.push(() => (closed ? undefined : srv.close()));
  return {
    ...srv,
    close: () => {
      closed = true;
      return srv.close();
    },
  };
}

async function sdk(srv: TestServer, principal = "alice") {
  const session = await connect(`ws://127.0.0.1:${srv.addresses.http}/sdk`, { principal, reconnect: false });
  cleanup.push(() => session.close());
  return session;
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "skein-ts-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A memory store whose event appends commit only when the test calls `release()`. */
class GatedEvents extends MemoryStorage {
  appends = 0;
  release!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));

  override appendEvent(path: string, event: TimeSeriesEvent): Promise<void> {
    void super.appendEvent(path, event);
    this.appends++;
    return this.gate;
  }
}

describe("acknowledgement after commit", () => {
  it("SDK: append and edit of a persistent series are answered once committed", async () => {
    const store = new GatedEvents();
    const srv = await server({}, { store });
    const session = await sdk(srv);
    await session.topics.add("p/ts", { type: "time-series", properties: { eventType: "string" } });
    let answered = false;
    const append = session.timeseries.append("p/ts", "string", "a").then((m) => ((answered = true), m));
    // A later request answered at once: had the append been answered, its answer came first.
    await session.ping();
    expect(answered).toBe(false);
    expect(store.appends).toBe(1);
    store.release();
    expect(await append).toMatchObject({ sequence: 0, author: "alice" });
  });

  it("MQTT 5: the PUBACK of an append to a persistent series waits for the commit", async () => {
    const store = new GatedEvents();
    const srv = await server({}, { store });
    const session = await sdk(srv);
    await session.topics.add("p/ts", { type: "time-series", properties: { eventType: "double" } });
    const client = await RawClient.connected(srv.addresses.mqtt as number, 5);
    cleanup.push(() => void client.socket.destroy());
    client.send({
      cmd: "publish",
      topic: "p/ts",
      payload: Buffer.from("1"),
      qos: 1,
      retain: false,
      messageId: 9,
      dup: false,
    });
    await vi.waitFor(() => expect(store.appends).toBe(1));
    await session.ping();
    expect(client.packets.some((p) => p.cmd === "puback")).toBe(false);
    store.release();
    expect(await client.next()).toMatchObject({ cmd: "puback", messageId: 9 });
  });

  it("a non-persistent series never waits on the store", async () => {
    const store = new GatedEvents();
    const srv = await server({}, { store });
    const session = await sdk(srv);
    await session.topics.add("v/ts", {
      type: "time-series",
      properties: { eventType: "string", persistent: false },
    });
    expect(await session.timeseries.append("v/ts", "string", "x")).toMatchObject({ sequence: 0 });
    expect(store.appends).toBe(0);
  });
});

describe("restart on the same data directory (sqlite)", () => {
  it("keeps the events of SDK appends, edits and MQTT publishes; sequences continue; the retained range holds", async () => {
    const dataDir = tempDir();
    const config = { dataDir, storage: { engine: "sqlite" as const } };
    let srv = await server(config);
    let session = await sdk(srv);
    await session.topics.add("r/ts", {
      type: "time-series",
      properties: { eventType: "string", retainedRange: { count: 4 }, subscriptionRange: 2 },
    });
    for (const v of ["a", "b", "c"]) await session.timeseries.append("r/ts", "string", v);
    await session.timeseries.edit("r/ts", "string", 1, "B");
    const device = await RawClient.connected(srv.addresses.mqtt as number, 5, { clientId: "dev" });
    device.send({
      cmd: "publish",
      topic: "r/ts",
      payload: Buffer.from("d"),
      qos: 1,
      retain: false,
      messageId: 1,
      dup: false,
    });
    expect(await device.next()).toMatchObject({ cmd: "puback" });
    device.socket.destroy();
    await session.close();
    await srv.close();

    srv = await server(config);
    session = await sdk(srv, "bob");
    const edits = await session.timeseries.rangeQuery().forEdits().selectFrom("r/ts");
    expect(edits.events.map((e) => `${e.sequence}:${String(e.value)}:${e.author}`)).toEqual([
      "1:b:alice",
      "2:c:alice",
      "3:B:alice",
      "4:d:dev",
    ]);
    // A new subscriber's range comes from the restored window.
    const streamed: number[] = [];
    session.timeseries.addStream(">r/ts", "string", { onValue: (_p, _s, e) => streamed.push(e.sequence) });
    await session.select(">r/ts");
    await vi.waitFor(() => expect(streamed).toEqual([3, 4]));
    expect(await session.timeseries.append("r/ts", "string", "e")).toMatchObject({
      sequence: 5,
      author: "bob",
    });
    const values = await session.timeseries.rangeQuery().selectFrom("r/ts");
    // Event 1 left the retained range, and with it its edit 3 (docs/timeseries.md, Retained range).
    expect(values.events.map((e) => `${e.sequence}:${String(e.value)}`)).toEqual(["2:c", "4:d", "5:e"]);
    await expect(session.timeseries.edit("r/ts", "string", 1, "x")).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });
});

describe("restart after downtime (sqlite)", () => {
  it("keeps an MQTT 3.1.1 append; a retainedRange.durationMs that passed while the server was down is applied by the first sweep", async () => {
    const dataDir = tempDir();
    const t0 = 1_000_000;
    const config = { dataDir, storage: { engine: "sqlite" as const }, limits: { removalSweepMs: 3000 } };
    let srv = await server(config, { clock: new FakeClock(t0) });
    let session = await sdk(srv);
    await session.topics.add("down/ts", {
      type: "time-series",
      properties: { eventType: "string", retainedRange: { durationMs: 60_000 } },
    });
    await session.timeseries.append("down/ts", "string", "old");
    const device = await RawClient.connected(srv.addresses.mqtt as number, 4, { clientId: "dev4" });
    device.send({
      cmd: "publish",
      topic: "down/ts",
      payload: Buffer.from("from 3.1.1"),
      qos: 1,
      retain: false,
      messageId: 1,
      dup: false,
    });
    expect(await device.next()).toMatchObject({ cmd: "puback", messageId: 1 });
    device.socket.destroy();
    await session.close();
    await srv.close();

    // Kept across a restart within the range.
    const clock = new FakeClock(t0 + 30_000);
    srv = await server(config, { clock });
    session = await sdk(srv);
    const values = async () =>
      (await session.timeseries.rangeQuery().fromStart().selectFrom("down/ts")).events.map(
        (e) => `${e.sequence}:${String(e.value)}:${e.author}`,
      );
    expect(await values()).toEqual(["0:old:alice", "1:from 3.1.1:dev4"]);
    expect(await session.timeseries.append("down/ts", "string", "new")).toMatchObject({ sequence: 2 });
    await session.close();
    await srv.close();

    // Down for long enough that the first two left the range: the first sweep drops them.
    const later = new FakeClock(t0 + 30_000 + 50_000);
    srv = await server(config, { clock: later });
    session = await sdk(srv);
    later.advance(3000);
    await vi.waitFor(async () => expect(await values()).toEqual(["2:new:alice"]));
    expect(await session.timeseries.append("down/ts", "string", "next")).toMatchObject({ sequence: 3 });
  });
});

describe("retainedRange.durationMs is applied over time by the sweep", () => {
  it.each([
    ["sqlite, persistent", true],
    ["memory, not persistent", false],
  ] as const)("%s", async (_name, persistent) => {
    const clock = new FakeClock(1_000_000);
    const config = persistent ? { dataDir: tempDir(), storage: { engine: "sqlite" as const } } : {};
    const srv = await server({ ...config, limits: { removalSweepMs: 3000 } }, { clock });
    const session = await sdk(srv);
    await session.topics.add("d/ts", {
      type: "time-series",
      properties: { eventType: "int64", retainedRange: { durationMs: 5000 }, persistent },
    });
    await session.timeseries.append("d/ts", "int64", 1n);
    clock.advance(3000);
    await session.timeseries.append("d/ts", "int64", 2n);
    clock.advance(3000); // the sweep at +6 s: the first event is 6 s old, the second 3 s
    const kept = async () =>
      (await session.timeseries.rangeQuery().selectFrom("d/ts")).events.map((e) => e.sequence);
    await vi.waitFor(async () => expect(await kept()).toEqual([1]));
    clock.advance(3000);
    await vi.waitFor(async () => expect(await kept()).toEqual([]));
    expect(await session.timeseries.append("d/ts", "int64", 3n)).toMatchObject({ sequence: 2 });
  });
});

describe("subscriptionRange", () => {
  it.each([
    ["{ durationMs }: the events of the last durationMs", { durationMs: 3000 }, [1, 2]],
    ["{ count, durationMs }: both bound it", { count: 1, durationMs: 3000 }, [2]],
    ["{ count }", { count: 3 }, [0, 1, 2]],
    ["a number", 2, [1, 2]],
  ] as const)("%s", async (_name, subscriptionRange, expected) => {
    const clock = new FakeClock(1_000_000);
    const srv = await server({}, { clock });
    const session = await sdk(srv);
    await session.topics.add("sr/ts", {
      type: "time-series",
      properties: { eventType: "int64", subscriptionRange },
    });
    await session.timeseries.append("sr/ts", "int64", 0n);
    clock.advance(5000);
    await session.timeseries.append("sr/ts", "int64", 1n);
    clock.advance(1000);
    await session.timeseries.append("sr/ts", "int64", 2n);
    clock.advance(1000); // now: events 0 (7 s old), 1 (2 s), 2 (1 s)
    const seen: number[] = [];
    const subscribed = new Promise<void>((resolve) =>
      session.timeseries.addStream(">sr/ts", "int64", {
        onSubscribe: () => resolve(),
        onValue: (_p, _s, e) => seen.push(e.sequence),
      }),
    );
    await session.select(">sr/ts");
    await subscribed;
    // The range follows the topic frame before the select's answer: all of it has arrived.
    expect(seen).toEqual(expected);
  });
});
