/**
 * A kept session's queue is read lazily after a restart (issue 9, start-up speed): start-up reads a
 * summary of each queue, not its messages; the messages are read when the client comes back (or when
 * drop-oldest must drop one still on disk). Read then, the queue is delivered as if it had been in
 * memory all along: what was in flight is resent first with its packet id and DUP set (a released
 * QoS 2 delivery with PUBREL) [MQTT-4.4.0-1], then the queued messages in order, those queued since
 * the restart after them, and a message whose expiry passed is not sent [MQTT-3.3.2-5].
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type MqttClient } from "mqtt";
import type { IPublishPacket, Packet } from "mqtt-packet";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { LoadOptions } from "../../src/core/storage.js";
import type { SkeinConfigInput } from "../../src/index.js";
import { SqliteStorage } from "../../src/storage/sqlite-store.js";
import { FakeClock } from "../fake-clock.js";
import { connectClient, startServer, waitFor, type TestServer } from "../helpers.js";
import { RawClient } from "../raw-client.js";

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "skein-mqtt-lazy-"));
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A server on `dataDir` whose sqlite store the test opened, with spies on its reads. */
async function sqliteServer(dataDir: string, clock: FakeClock, config: SkeinConfigInput = {}) {
  const store = SqliteStorage.open({ dataDir });
  const load = vi.spyOn(store, "load");
  const reads = vi.spyOn(store, "loadSessionMessages");
  const srv = await startServer({ ...config, dataDir, storage: { engine: "sqlite" } }, { clock, store });
  let closed = false;
  cleanup.push(() => (closed ? undefined : srv.close()));
  const close = (): Promise<void> => ((closed = true), srv.close());
  return { ...srv, close, load, reads };
}

async function publisher(srv: TestServer): Promise<MqttClient> {
  const c = await connectClient(srv.url(), { protocolVersion: 5 });
  cleanup.push(() => c.endAsync(true).catch(() => undefined));
  return c;
}

/** A raw persistent client of `version` (one that acknowledges nothing unless told). */
async function raw(srv: TestServer, version: 4 | 5, clientId: string): Promise<RawClient> {
  const r = await RawClient.connected(srv.addresses.mqtt as number, version, {
    clientId,
    clean: false,
    ...(version === 5 ? { properties: { sessionExpiryInterval: 3600 } } : {}),
  });
  cleanup.push(() => void r.socket.destroy());
  return r;
}

async function nextOf<C extends Packet["cmd"]>(r: RawClient, cmd: C): Promise<Extract<Packet, { cmd: C }>> {
  for (let i = 0; i < 100; i++) {
    const p = await r.next(5000);
    if (p.cmd === cmd) return p as Extract<Packet, { cmd: C }>;
  }
  throw new Error(`no ${cmd}`);
}

/** Leaves cleanly and waits until the server has seen the connection go. */
async function leave(srv: TestServer, r: RawClient): Promise<void> {
  r.send({ cmd: "disconnect" });
  await r.closed;
  await waitFor(() => srv.server.metrics.get("mqtt_connections") === 0, "the server to see it leave");
}

/** What a packet says that matters here. */
function brief(p: Packet): string {
  if (p.cmd === "pubrel") return `pubrel ${p.messageId}`;
  if (p.cmd !== "publish") return p.cmd;
  const m = p as IPublishPacket;
  return `${m.topic} ${m.payload.toString()} qos${m.qos}${m.dup ? " dup" : ""}`;
}

/** A computed gauge's value (summed over its labels). */
function gauge(srv: TestServer, name: string): number {
  let n = 0;
  for (const s of srv.server.metrics.allSeries()) if (s.name === name) n += s.value;
  return n;
}

/** Did start-up read any message (rather than summaries)? */
function readMessagesAtLoad(load: { mock: { calls: unknown[][] } }): boolean {
  return load.mock.calls.some((args) => {
    const options = args[0] as LoadOptions | undefined;
    return options?.sessions !== false && (options?.messages ?? true) === true;
  });
}

for (const version of [5, 4] as const) {
  describe(`MQTT ${version === 5 ? "5" : "3.1.1"}: a kept queue read lazily after a restart`, () => {
    it("is read when the client comes back and delivered in order, in-flight state intact, expired dropped", async () => {
      const dataDir = tempDir();
      const t0 = Date.now();
      const clientId = `lazy-${version}`;
      let srv = await sqliteServer(dataDir, new FakeClock(t0));
      const sub = await raw(srv, version, clientId);
      sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "l/#", qos: 2 }] });
      await nextOf(sub, "suback");
      const pub = await publisher(srv);
      await pub.publishAsync("l/a", "in flight", { qos: 1 });
      const inflight = await nextOf(sub, "publish"); // never acknowledged
      await pub.publishAsync("l/b", "released", { qos: 2 });
      const released = await nextOf(sub, "publish");
      sub.send({ cmd: "pubrec", messageId: released.messageId });
      await nextOf(sub, "pubrel"); // no PUBCOMP
      await pub.endAsync();
      await leave(srv, sub);
      const pub2 = await publisher(srv);
      await pub2.publishAsync("l/c", "queued 1", { qos: 1 });
      await pub2.publishAsync("l/d", "expires", { qos: 1, properties: { messageExpiryInterval: 30 } });
      await pub2.publishAsync("l/e", "queued 2", { qos: 2 });
      await pub2.endAsync();
      await srv.close();

      const clock = new FakeClock(t0 + 10_000);
      srv = await sqliteServer(dataDir, clock);
      expect(readMessagesAtLoad(srv.load)).toBe(false);
      // Counted before it is read: 3 queued, 2 in flight.
      expect(gauge(srv, "skein_mqtt_queued_messages")).toBe(3);
      const pub3 = await publisher(srv);
      await pub3.publishAsync("l/f", "after the restart", { qos: 1 });
      await pub3.endAsync();
      expect(srv.reads).not.toHaveBeenCalled();
      clock.advance(25_000); // l/d's expiry passes while its queue is still on disk

      const back = await raw(srv, version, clientId);
      expect(back.packets[0]).toMatchObject({ cmd: "connack", sessionPresent: true });
      const got: Packet[] = [];
      for (let i = 0; i < 5; i++) got.push(await back.next(5000));
      expect(srv.reads).toHaveBeenCalledTimes(1);
      expect(got.map(brief)).toEqual([
        "l/a in flight qos1 dup",
        `pubrel ${released.messageId}`,
        "l/c queued 1 qos1",
        "l/e queued 2 qos2",
        "l/f after the restart qos1",
      ]);
      expect(got[0]).toMatchObject({ messageId: inflight.messageId });
      // New packet ids do not collide with the ones still in flight [MQTT-2.2.1-3].
      const ids = got.map((p) => (p as { messageId?: number }).messageId);
      expect(new Set(ids).size).toBe(ids.length);
      for (const p of got) {
        if (p.cmd === "pubrel") back.send({ cmd: "pubcomp", messageId: p.messageId });
        else if ((p as IPublishPacket).qos === 1) back.send({ cmd: "puback", messageId: p.messageId });
        else back.send({ cmd: "pubrec", messageId: p.messageId });
      }
      const last = await nextOf(back, "pubrel");
      back.send({ cmd: "pubcomp", messageId: last.messageId });
      await back.ping();
      expect(srv.server.metrics.get("mqtt_messages_dropped_total", { reason: "expired" })).toBe(1);
      expect(gauge(srv, "skein_mqtt_queued_messages")).toBe(0);
      expect(gauge(srv, "skein_mqtt_inflight_messages")).toBe(0);

      // Everything was acknowledged: another restart brings nothing back.
      await leave(srv, back);
      await srv.close();
      srv = await sqliteServer(dataDir, new FakeClock(t0 + 40_000));
      const again = await raw(srv, version, clientId);
      await again.ping();
      expect(again.packets.filter((p) => p.cmd === "publish" || p.cmd === "pubrel")).toHaveLength(0);
    });
  });
}

describe("a kept queue still on disk and its bounds", () => {
  it("drop-oldest reads the queue to drop its oldest message; the client then gets the newest", async () => {
    const dataDir = tempDir();
    const t0 = Date.now();
    const config: SkeinConfigInput = { mqtt: { maxQueuedMessages: 3, queueDropPolicy: "drop-oldest" } };
    let srv = await sqliteServer(dataDir, new FakeClock(t0), config);
    const sub = await raw(srv, 5, "bounded");
    sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "b/#", qos: 1 }] });
    await nextOf(sub, "suback");
    await leave(srv, sub);
    const pub = await publisher(srv);
    for (const n of [1, 2, 3]) await pub.publishAsync("b/x", String(n), { qos: 1 });
    await pub.endAsync();
    await srv.close();

    srv = await sqliteServer(dataDir, new FakeClock(t0 + 1000), config);
    expect(gauge(srv, "skein_mqtt_queued_messages")).toBe(3);
    const pub2 = await publisher(srv);
    for (const n of [4, 5]) await pub2.publishAsync("b/x", String(n), { qos: 1 });
    await pub2.endAsync();
    // The bound made the session read its queue and drop the two oldest.
    expect(srv.reads).toHaveBeenCalledTimes(1);
    expect(srv.server.metrics.get("mqtt_messages_dropped_total", { reason: "queue_full" })).toBe(2);
    expect(gauge(srv, "skein_mqtt_queued_messages")).toBe(3);

    const back = mqtt.connect(srv.url(), {
      reconnectPeriod: 0,
      protocolVersion: 5,
      clientId: "bounded",
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    cleanup.push(() => back.endAsync(true).catch(() => undefined));
    const got: string[] = [];
    back.on("message", (_topic, payload) => got.push(payload.toString()));
    await waitFor(() => got.length >= 3, "the newest three");
    expect(got).toEqual(["3", "4", "5"]);
  });
});
