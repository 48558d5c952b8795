/**
 * Bounds around MQTT persistent sessions (issue 9): acknowledgements waiting for a commit are bounded
 * per connection (`mqtt.maxAcksAwaitingCommit`: past it the connection is not read until the commits
 * catch up); offline sessions are bounded (`mqtt.maxOfflineSessions`: the one offline longest is
 * ended, counted); 3.1.1 clean session 0 sessions expire by default
 * (`mqtt.persistentSessionExpirySec`, 7 days).
 */
import mqtt, { type IClientOptions } from "mqtt";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { TopicRecord } from "../../src/core/storage.js";
import { MemoryStorage } from "../../src/storage/memory-store.js";
import { FakeClock } from "../fake-clock.js";
import { connectClient, startServer, waitFor, type TestServer } from "../helpers.js";
import { RawClient } from "../raw-client.js";

/** A memory store whose topic writes commit only when the test calls `release()`. */
class GatedStorage extends MemoryStorage {
  writes = 0;
  release!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));

  override putTopic(topic: TopicRecord): Promise<void> {
    void super.putTopic(topic);
    this.writes++;
    return this.gate;
  }
}

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe("acknowledgements waiting for a commit", () => {
  for (const version of [4, 5] as const) {
    it(`MQTT ${version === 5 ? "5" : "3.1.1"}: past mqtt.maxAcksAwaitingCommit the connection is not read until the commits catch up`, async () => {
      const store = new GatedStorage();
      srv = await startServer({ mqtt: { maxAcksAwaitingCommit: 4 } }, { store });
      const metrics = srv.server.metrics;
      const client = await RawClient.connected(srv.addresses.mqtt as number, version);
      // Ten retained QoS 1 publishes of a kept topic in one write: each PUBACK waits for the commit.
      for (let i = 1; i <= 10; i++) {
        client.send({
          cmd: "publish",
          topic: "bounded/kept",
          payload: Buffer.from(String(i)),
          qos: 1,
          retain: true,
          messageId: i,
          dup: false,
        });
      }
      await vi.waitFor(() => expect(metrics.get("mqtt_reads_paused_for_commit_total")).toBe(1));
      // The fourth waiting acknowledgement stopped the reading: the other six wait in the socket.
      expect(metrics.total("mqtt_messages_received_total")).toBe(4);
      expect(store.writes).toBe(4);
      expect(client.packets.filter((p) => p.cmd === "puback")).toHaveLength(0);

      store.release();
      const acks: number[] = [];
      for (let i = 0; i < 10; i++) {
        const p = await client.next();
        if (p.cmd === "puback") acks.push(p.messageId as number);
      }
      expect(acks).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(metrics.total("mqtt_messages_received_total")).toBe(10);
      client.socket.destroy();
    });
  }
});

describe("offline sessions", () => {
  for (const version of [4, 5] as const) {
    it(`MQTT ${version === 5 ? "5" : "3.1.1"}: past mqtt.maxOfflineSessions the session offline longest is ended, counted`, async () => {
      srv = await startServer({ mqtt: { maxOfflineSessions: 2 } });
      const metrics = srv.server.metrics;
      const options = (clientId: string): IClientOptions =>
        version === 5
          ? { protocolVersion: 5, clientId, clean: false, properties: { sessionExpiryInterval: 600 } }
          : { protocolVersion: 4, clientId, clean: false };
      for (const id of ["first", "second", "third"]) {
        const c = await connectClient(srv.url(), options(id));
        await c.subscribeAsync(`offline/${id}/#`, { qos: 1 });
        await c.endAsync();
        await waitFor(() => metrics.get("mqtt_connections") === 0, "the disconnection");
      }
      expect(metrics.total("mqtt_sessions_evicted_total")).toBe(1);
      expect(metrics.get("mqtt_sessions")).toBe(2);
      expect(await sessionPresent(srv, options("second"))).toBe(true);
      expect(await sessionPresent(srv, options("first"))).toBe(false);
    });
  }
});

/** Connects, returns Session Present of the CONNACK, and disconnects (the session stays). */
async function sessionPresent(server: TestServer, options: IClientOptions): Promise<boolean> {
  const c = mqtt.connect(server.url(), { reconnectPeriod: 0, ...options });
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    c.once("connect", resolve);
    c.once("error", reject);
  });
  await c.endAsync();
  return connack.sessionPresent;
}

describe("3.1.1 persistent sessions", () => {
  it("expire after mqtt.persistentSessionExpirySec, 7 days by default", async () => {
    const clock = new FakeClock();
    // Few periodic timers to fire on the way through a week of fake time.
    srv = await startServer({ limits: { sysIntervalMs: 0, removalSweepMs: 3_600_000 } }, { clock });
    const metrics = srv.server.metrics;
    const c = await connectClient(srv.url(), { protocolVersion: 4, clientId: "weekly", clean: false });
    await c.subscribeAsync("weekly/#", { qos: 1 });
    await c.endAsync();
    await waitFor(() => metrics.get("mqtt_connections") === 0, "the disconnection");
    clock.advance(7 * 24 * 3600 * 1000 - 1);
    expect(metrics.get("mqtt_sessions")).toBe(1);
    clock.advance(1);
    expect(metrics.get("mqtt_sessions")).toBe(0);
  });
});
