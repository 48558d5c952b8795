/**
 * The QoS 1/2 queue of a session is bounded in bytes too (issue 12, item 10): `mqtt.maxQueuedBytes`
 * per session and `mqtt.maxQueuedBytesTotal` across sessions, with the queue's drop policy and the
 * `mqtt_messages_dropped_total` counter (reasons `queue_bytes` and `queue_bytes_total`).
 */
import mqttPacket from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { startServer, waitFor } from "../helpers.js";
import { RawClient } from "../raw-client.js";

const SIZE = 10_000;
const TOPIC = "big/t";
/** What one message counts against the byte bounds: payload and topic. */
const COST = SIZE + TOPIC.length;

function publishes(count: number): Buffer {
  return Buffer.concat(
    Array.from({ length: count }, (_, i) =>
      mqttPacket.generate(
        {
          cmd: "publish",
          topic: TOPIC,
          payload: Buffer.alloc(SIZE, i),
          qos: 1,
          dup: false,
          retain: false,
          messageId: i + 1,
        },
        { protocolVersion: 4 },
      ),
    ),
  );
}

/** A subscriber that reads but never acknowledges (so everything past its window is queued). */
async function stuckSubscriber(port: number): Promise<RawClient> {
  const sub = await RawClient.connected(port, 4);
  sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "big/#", qos: 1 }] });
  await sub.next();
  return sub;
}

describe("byte bounds of the session queue", () => {
  it("drops past mqtt.maxQueuedBytes by the drop policy, counted", async () => {
    await using srv = await startServer({
      mqtt: { maxInflight: 1, maxQueuedBytes: 100_000, maxPublisherHoldMs: 20 },
    });
    const port = srv.addresses.mqtt as number;
    const sub = await stuckSubscriber(port);
    const pub = await RawClient.connected(port, 4);
    try {
      pub.send(publishes(30));
      await waitFor(() => pub.packets.filter((p) => p.cmd === "puback").length === 30, "every PUBACK");
      // One in flight, as many as fit in 100,000 bytes queued, the rest dropped.
      const kept = Math.floor(100_000 / COST);
      expect(srv.server.metrics.get("mqtt_messages_dropped_total", { reason: "queue_bytes" })).toBe(
        30 - 1 - kept,
      );
      expect(srv.server.metrics.get("mqtt_messages_dropped_total", { reason: "queue_full" })).toBe(0);
    } finally {
      pub.destroy();
      sub.destroy();
    }
  });

  it("bounds the bytes queued across sessions by mqtt.maxQueuedBytesTotal", async () => {
    await using srv = await startServer({
      mqtt: { maxInflight: 1, maxQueuedBytesTotal: 100_000, maxPublisherHoldMs: 20 },
    });
    const port = srv.addresses.mqtt as number;
    const subs = [await stuckSubscriber(port), await stuckSubscriber(port)];
    const pub = await RawClient.connected(port, 4);
    try {
      pub.send(publishes(30));
      await waitFor(() => pub.packets.filter((p) => p.cmd === "puback").length === 30, "every PUBACK");
      // Two in flight (one per subscriber); the two queues share room for this many.
      const kept = Math.floor(100_000 / COST);
      expect(srv.server.metrics.get("mqtt_messages_dropped_total", { reason: "queue_bytes_total" })).toBe(
        2 * 30 - 2 - kept,
      );
    } finally {
      pub.destroy();
      subs.forEach((s) => s.destroy());
    }
  });
});
