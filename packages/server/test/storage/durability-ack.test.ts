/**
 * The durability contract (docs/durability.md): a PUBACK / PUBREC of a retained publish to a persistent
 * topic, and the SDK's answer to a write of a persistent topic, go out only once the store committed
 * the write; deliveries to subscribers do not wait; acknowledgements keep PUBLISH order
 * [MQTT-4.6.0-2]. Driven by a store whose commits the test releases by hand.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { connect } from "../../../sdk/src/index.js";
import type { TopicRecord } from "../../src/core/storage.js";
import { MemoryStorage } from "../../src/storage/memory-store.js";
import { startServer, type TestServer } from "../helpers.js";
import { RawClient } from "../raw-client.js";

/** A memory store whose topic writes commit only when the test calls `release()`. */
class GatedStorage extends MemoryStorage {
  writes = 0;
  release!: () => void;
  fail!: (err: Error) => void;
  private gate = this.newGate();

  private newGate(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.release = resolve;
      this.fail = reject;
    });
  }

  override putTopic(topic: TopicRecord): Promise<void> {
    void super.putTopic(topic);
    this.writes++;
    return this.gate;
  }

  override removeTopic(path: string): Promise<void> {
    void super.removeTopic(path);
    this.writes++;
    return this.gate;
  }
}

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe("acknowledgement after commit", () => {
  for (const version of [4, 5] as const) {
    it(`MQTT ${version === 5 ? "5" : "3.1.1"}: PUBACK and PUBREC of a kept retained value wait for the commit, in order`, async () => {
      const store = new GatedStorage();
      srv = await startServer({}, { store });
      const port = srv.addresses.mqtt as number;
      const client = await RawClient.connected(port, version);
      client.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "d/#", qos: 0 }] });
      expect((await client.next()).cmd).toBe("suback");

      client.send({
        cmd: "publish",
        topic: "d/kept",
        payload: Buffer.from("1"),
        qos: 1,
        retain: true,
        messageId: 10,
        dup: false,
      });
      // Not retained: changes nothing kept, but its PUBACK must not overtake the first [MQTT-4.6.0-2].
      client.send({
        cmd: "publish",
        topic: "d/live",
        payload: Buffer.from("2"),
        qos: 1,
        retain: false,
        messageId: 11,
        dup: false,
      });
      client.send({
        cmd: "publish",
        topic: "d/kept2",
        payload: Buffer.from("3"),
        qos: 2,
        retain: true,
        messageId: 12,
        dup: false,
      });
      // The deliveries (own copies, on the same socket) come at once; nothing was acknowledged before them.
      const first = [await client.next(), await client.next(), await client.next()];
      expect(first.map((p) => p.cmd)).toEqual(["publish", "publish", "publish"]);
      expect(store.writes).toBe(2);

      store.release();
      const acks = [await client.next(), await client.next(), await client.next()];
      expect(acks.map((p) => [p.cmd, "messageId" in p ? p.messageId : undefined])).toEqual([
        ["puback", 10],
        ["puback", 11],
        ["pubrec", 12],
      ]);
      client.socket.destroy();
    });
  }

  it("MQTT 5: a failed commit closes the connection with 0x83, unacknowledged, and is counted", async () => {
    const store = new GatedStorage();
    srv = await startServer({}, { store });
    const client = await RawClient.connected(srv.addresses.mqtt as number, 5);
    client.send({
      cmd: "publish",
      topic: "f/kept",
      payload: Buffer.from("x"),
      qos: 1,
      retain: true,
      messageId: 5,
      dup: false,
    });
    await vi.waitFor(() => expect(store.writes).toBe(1));
    store.fail(new Error("disk full"));
    expect(await client.next()).toMatchObject({ cmd: "disconnect", reasonCode: 0x83 });
    await client.closed;
    expect(client.packets.some((p) => p.cmd === "puback")).toBe(false);
    expect(srv.server.metrics.get("storage_commit_failures_total")).toBe(1);
  });

  it("QoS 1 to a topic that is not kept is acknowledged without waiting", async () => {
    const store = new GatedStorage();
    srv = await startServer({}, { store });
    const client = await RawClient.connected(srv.addresses.mqtt as number, 5);
    client.send({
      cmd: "publish",
      topic: "n/live",
      payload: Buffer.from("x"),
      qos: 1,
      retain: false,
      messageId: 3,
      dup: false,
    });
    expect(await client.next()).toMatchObject({ cmd: "puback", messageId: 3 });
    expect(store.writes).toBe(0);
    client.socket.destroy();
  });

  it("SDK: a set of a persistent topic is answered once committed", async () => {
    const store = new GatedStorage();
    srv = await startServer({}, { store });
    const session = await connect(`ws://127.0.0.1:${srv.addresses.http}/sdk`, { reconnect: false });
    try {
      let answered = false;
      const set = session.topics.addAndSet("s/kept", { type: "string" }, "v").then(() => (answered = true));
      // A later request answered without a write: the set's answer, had it been sent, came first.
      await session.fetch(">s/kept");
      expect(answered).toBe(false);
      expect(store.writes).toBe(1);
      store.release();
      await set;
      expect(answered).toBe(true);
    } finally {
      await session.close();
    }
  });
});
