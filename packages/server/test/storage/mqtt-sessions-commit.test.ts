/**
 * The durability contract for persistent sessions (docs/durability.md): a QoS 1 PUBACK / QoS 2 PUBREC
 * goes out only once the copy queued for every persistent session the message lands in is committed;
 * a persistent publisher's QoS 2 PUBREC waits for its packet id, its PUBCOMP for the id's release; a
 * persistent subscriber's QoS 2 PUBLISH waits for its packet id on disk, its PUBREL for the PUBREC's;
 * clean sessions and QoS 0 write nothing and wait for nothing. Driven by a store whose session writes
 * commit only when the test releases them.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import type { DeliveryUpdate, QueuedMessageRecord } from "../../src/core/storage.js";
import { MemoryStorage } from "../../src/storage/memory-store.js";
import { startServer, type TestServer } from "../helpers.js";
import { RawClient } from "../raw-client.js";

/** A memory store whose message and QoS 2 id writes commit only when the test calls `release()`. */
class GatedStorage extends MemoryStorage {
  writes: string[] = [];
  release!: () => void;
  private readonly gate = new Promise<void>((resolve) => (this.release = resolve));

  override enqueueMessage(message: QueuedMessageRecord): Promise<void> {
    void super.enqueueMessage(message);
    this.writes.push(`enqueue ${message.clientId} ${message.state}`);
    return this.gate;
  }

  override recordIncomingQos2(clientId: string, packetId: number): Promise<void> {
    void super.recordIncomingQos2(clientId, packetId);
    this.writes.push(`qos2 ${clientId} ${packetId}`);
    return this.gate;
  }

  override releaseIncomingQos2(clientId: string, packetId: number): Promise<void> {
    void super.releaseIncomingQos2(clientId, packetId);
    this.writes.push(`release ${clientId} ${packetId}`);
    return this.gate;
  }
}

/** Also gates the delivery state updates (sent, released), behind a gate of their own. */
class GatedUpdates extends GatedStorage {
  releaseUpdates!: () => void;
  private readonly updateGate = new Promise<void>((resolve) => (this.releaseUpdates = resolve));

  override updateMessage(clientId: string, messageId: number, update: DeliveryUpdate): Promise<void> {
    void super.updateMessage(clientId, messageId, update);
    this.writes.push(`update ${clientId} ${update.state}`);
    return this.updateGate;
  }
}

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

const connect = (version: 4 | 5, clientId: string, persistent: boolean) =>
  RawClient.connected(srv!.addresses.mqtt as number, version, {
    clientId,
    clean: !persistent,
    ...(version === 5 && persistent ? { properties: { sessionExpiryInterval: 600 } } : {}),
  });

const publish = (qos: 0 | 1 | 2, messageId: number, topic = "c/t") =>
  ({
    cmd: "publish",
    topic,
    payload: Buffer.from(String(messageId)),
    qos,
    retain: false,
    dup: false,
    messageId,
  }) as const;

for (const version of [4, 5] as const) {
  describe(`MQTT ${version === 5 ? "5" : "3.1.1"}: acknowledgement after the session queues' commit`, () => {
    it("a clean-session subscriber writes nothing and the PUBACK does not wait", async () => {
      const store = new GatedStorage();
      srv = await startServer({}, { store });
      const sub = await connect(version, "clean-sub", false);
      sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "c/#", qos: 2 }] });
      expect((await sub.next()).cmd).toBe("suback");
      const pub = await connect(version, "clean-pub", false);
      pub.send(publish(1, 5));
      pub.send(publish(2, 6));
      expect(await pub.next()).toMatchObject({ cmd: "puback", messageId: 5 });
      expect(await pub.next()).toMatchObject({ cmd: "pubrec", messageId: 6 });
      expect(store.writes).toEqual([]);
      sub.socket.destroy();
      pub.socket.destroy();
    });

    it("PUBACK and PUBREC wait until the copies for persistent sessions, online and offline, are committed", async () => {
      const store = new GatedStorage();
      srv = await startServer({}, { store });
      const offline = await connect(version, "offline-sub", true);
      offline.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "c/#", qos: 2 }] });
      expect((await offline.next()).cmd).toBe("suback");
      await offline.end();
      const online = await connect(version, "online-sub", true);
      online.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "c/#", qos: 1 }] });
      expect((await online.next()).cmd).toBe("suback");
      const pub = await connect(version, "clean-pub", false);
      pub.send(publish(0, 0));
      pub.send(publish(1, 5));
      pub.send(publish(2, 6));
      // The online subscriber gets its copies at once; nothing is acknowledged to the publisher yet.
      const delivered = [await online.next(), await online.next(), await online.next()];
      expect(delivered.map((p) => p.cmd)).toEqual(["publish", "publish", "publish"]);
      await pub.ping();
      expect(pub.packets.filter((p) => p.cmd === "puback" || p.cmd === "pubrec")).toHaveLength(0);
      // QoS 0 wrote nothing; QoS 1 and 2 one copy per persistent session (sent at once to the online one).
      expect(store.writes.sort()).toEqual([
        "enqueue offline-sub queued",
        "enqueue offline-sub queued",
        "enqueue online-sub sent",
        "enqueue online-sub sent",
      ]);
      store.release();
      const acks = [await pub.next(), await pub.next()];
      expect(acks).toMatchObject([
        { cmd: "puback", messageId: 5 },
        { cmd: "pubrec", messageId: 6 },
      ]);
      online.socket.destroy();
      pub.socket.destroy();
    });

    it("a persistent publisher's PUBREC waits for its QoS 2 id, its PUBCOMP for the release", async () => {
      const store = new GatedStorage();
      srv = await startServer({}, { store });
      const pub = await connect(version, "kept-pub", true);
      pub.send(publish(2, 9, "nobody/listens"));
      await vi.waitFor(() => expect(store.writes).toEqual(["qos2 kept-pub 9"]));
      await pub.ping();
      expect(pub.packets.some((p) => p.cmd === "pubrec")).toBe(false);
      store.release();
      expect(await pub.next()).toMatchObject({ cmd: "pubrec", messageId: 9 });
      pub.send({ cmd: "pubrel", messageId: 9 });
      expect(await pub.next()).toMatchObject({ cmd: "pubcomp", messageId: 9 });
      expect(store.writes).toEqual(["qos2 kept-pub 9", "release kept-pub 9"]);
      pub.socket.destroy();
    });

    it("a persistent subscriber's QoS 2 PUBLISH goes out once its packet id is committed, its PUBREL once the PUBREC is [MQTT-4.3.3-6]", async () => {
      const store = new GatedUpdates();
      srv = await startServer({}, { store });
      const sub = await connect(version, "kept-sub", true);
      sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "c/#", qos: 2 }] });
      expect((await sub.next()).cmd).toBe("suback");
      const pub = await connect(version, "clean-pub", false);
      pub.send(publish(1, 5));
      pub.send(publish(2, 6));
      // QoS 1 goes at once (sent twice at worst after a crash); QoS 2 waits for its packet id.
      expect(await sub.next()).toMatchObject({ cmd: "publish", qos: 1 });
      await vi.waitFor(() => expect(store.writes).toHaveLength(2));
      await sub.ping();
      store.release();
      const publish2 = await sub.next();
      expect(publish2).toMatchObject({ cmd: "publish", qos: 2, dup: false });
      sub.send({ cmd: "pubrec", messageId: publish2.messageId });
      await vi.waitFor(() => expect(store.writes).toContain("update kept-sub released"));
      await sub.ping();
      store.releaseUpdates();
      expect(await sub.next()).toMatchObject({ cmd: "pubrel", messageId: publish2.messageId });
      sub.socket.destroy();
      pub.socket.destroy();
    });
  });
}
