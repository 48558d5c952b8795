/**
 * Flow control (issue 12, item 6; docs/mqtt.md "Flow control"): many QoS 1 publishers bursting at one
 * QoS 1 subscriber that acknowledges promptly. The server may not acknowledge a publish and then drop
 * it for lack of queue room: it slows the publishers instead, so every acknowledged message reaches
 * the subscriber, even with queue bounds far smaller than the burst.
 */
import { describe, expect, it } from "vitest";
import { connectClient, startServer, waitFor } from "../helpers.js";
import { RawClient } from "../raw-client.js";
import mqttPacket from "mqtt-packet";

const PUBLISHERS = 8;
const EACH = 250;

/** `count` QoS 1 PUBLISH packets to `topic`, in one buffer (one burst on the wire). */
function burst(topic: string, count: number): Buffer {
  const packets: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    packets.push(
      mqttPacket.generate(
        {
          cmd: "publish",
          topic,
          payload: Buffer.from(`${topic}:${i}`),
          qos: 1,
          dup: false,
          retain: false,
          messageId: i + 1,
        },
        { protocolVersion: 4 },
      ),
    );
  }
  return Buffer.concat(packets);
}

describe("flow control of QoS 1 delivery", () => {
  it("delivers every acknowledged message to a prompt subscriber, with small queue bounds", async () => {
    // 2,000 messages in bursts against a queue of 20 and a window of 5: without flow control the
    // server acknowledges them all and drops most as queue overflow.
    await using srv = await startServer({ mqtt: { maxQueuedMessages: 20, maxInflight: 5 } });
    const sub = await connectClient(srv.url(), { protocolVersion: 4, clientId: "prompt" });
    let received = 0;
    sub.on("message", () => received++);
    await sub.subscribeAsync("flow/+", { qos: 1 });

    const pubs = await Promise.all(
      Array.from({ length: PUBLISHERS }, () => RawClient.connected(srv.addresses.mqtt as number, 4)),
    );
    try {
      pubs.forEach((p, i) => p.send(burst(`flow/${i}`, EACH)));
      const acked = (): number =>
        pubs.reduce((n, p) => n + p.packets.filter((x) => x.cmd === "puback").length, 0);
      await waitFor(() => acked() === PUBLISHERS * EACH, "every PUBACK", 20_000);
      await waitFor(() => received === PUBLISHERS * EACH, "every acknowledged message delivered", 20_000);
      expect(srv.server.metrics.total("mqtt_messages_dropped_total")).toBe(0);
    } finally {
      pubs.forEach((p) => p.destroy());
      await sub.endAsync(true);
    }
  });

  it("does not deadlock two clients that publish to each other and are each held for the other", async () => {
    await using srv = await startServer({
      mqtt: { maxQueuedMessages: 20, maxInflight: 5, maxPublisherHoldMs: 50 },
    });
    const a = await connectClient(srv.url(), { protocolVersion: 4, clientId: "a" });
    const b = await connectClient(srv.url(), { protocolVersion: 4, clientId: "b" });
    try {
      await a.subscribeAsync("to-a/#", { qos: 1 });
      await b.subscribeAsync("to-b/#", { qos: 1 });
      const N = 300;
      // Every publish of both is acknowledged: the cycle is broken by the hold limit at worst.
      await Promise.all([
        ...Array.from({ length: N }, (_, i) => a.publishAsync("to-b/x", String(i), { qos: 1 })),
        ...Array.from({ length: N }, (_, i) => b.publishAsync("to-a/x", String(i), { qos: 1 })),
      ]);
    } finally {
      await a.endAsync(true);
      await b.endAsync(true);
    }
  });

  it("lets publishers go on when a subscriber acknowledges nothing (a slow consumer), counting its drops", async () => {
    await using srv = await startServer({
      mqtt: { maxQueuedMessages: 20, maxInflight: 5, maxPublisherHoldMs: 50 },
    });
    const port = srv.addresses.mqtt as number;
    // A subscriber that reads but never acknowledges.
    const stuck = await RawClient.connected(port, 4);
    stuck.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "slow/+", qos: 1 }] });
    await stuck.next();
    const pub = await RawClient.connected(port, 4);
    try {
      pub.send(burst("slow/a", 200));
      // The publisher is held back only for a while, then every publish is acknowledged.
      await waitFor(
        () => pub.packets.filter((x) => x.cmd === "puback").length === 200,
        "every PUBACK",
        10_000,
      );
      expect(srv.server.metrics.get("mqtt_slow_consumers_total")).toBe(1);
      // Window (5) and queue (20) kept; the rest dropped by the queue's policy and counted.
      expect(srv.server.metrics.get("mqtt_messages_dropped_total", { reason: "queue_full" })).toBe(175);
    } finally {
      pub.destroy();
      stuck.destroy();
    }
  });
});
