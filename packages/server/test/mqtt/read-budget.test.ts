/**
 * The read budget (issue 11; docs/mqtt.md "Flow control", `mqtt.readBudgetBytesPerTurn`): one
 * connection handles at most that many bytes of packets per turn of the event loop, the rest of what
 * it sent waiting for the next turn. Nothing is lost or reordered by the pauses, the other flow
 * control pauses (holds, outbound) go on working beside them, and another client is served while one
 * floods.
 */
import { describe, expect, it } from "vitest";
import mqttPacket from "mqtt-packet";
import { collect, connectClient, startServer, waitFor } from "../helpers.js";
import { RawClient } from "../raw-client.js";

/** `count` PUBLISH packets to `topic` in one buffer: QoS 0 and 1 alternating, payload = index. */
function flood(topic: string, count: number, qos: "mixed" | 0 = "mixed"): Buffer {
  const packets: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const q = qos === 0 ? 0 : ((i % 2) as 0 | 1);
    packets.push(
      mqttPacket.generate(
        {
          cmd: "publish",
          topic,
          payload: Buffer.from(String(i)),
          qos: q,
          dup: false,
          retain: false,
          ...(q === 1 ? { messageId: (i % 65_535) + 1 } : {}),
        },
        { protocolVersion: 4 },
      ),
    );
  }
  return Buffer.concat(packets);
}

const N = 4000;

describe("read budget per turn of the event loop", () => {
  it("delivers every QoS 0 and QoS 1 publish of one write in order, and every PUBACK in order", async () => {
    // 100 bytes: a handful of packets per turn, so the write is spread over hundreds of turns, and a
    // QoS 1 subscriber with a small queue holds the publisher back meanwhile (holds and budget pauses
    // share the connection's reasons to pause).
    await using srv = await startServer({
      mqtt: { readBudgetBytesPerTurn: 100, maxQueuedMessages: 50, maxInflight: 10 },
    });
    const sub = await connectClient(srv.url(), { protocolVersion: 4, clientId: "sub" });
    const got = collect(sub);
    await sub.subscribeAsync("budget/x", { qos: 1 });
    const pub = await RawClient.connected(srv.addresses.mqtt as number, 4);
    try {
      pub.send(flood("budget/x", N));
      const acks = (): number[] =>
        pub.packets.flatMap((p) => (p.cmd === "puback" ? [p.messageId as number] : []));
      await waitFor(() => acks().length === N / 2, "every PUBACK", 30_000);
      await waitFor(() => got.length === N, "every publish delivered", 30_000);
      expect(acks()).toEqual(Array.from({ length: N / 2 }, (_, k) => 2 * k + 2));
      expect(got.map((m) => Number(m.payload.toString()))).toEqual(Array.from({ length: N }, (_, i) => i));
      expect(got.map((m) => m.packet.qos)).toEqual(Array.from({ length: N }, (_, i) => i % 2));
      expect(srv.server.metrics.total("mqtt_messages_dropped_total")).toBe(0);
    } finally {
      pub.destroy();
      await sub.endAsync(true);
    }
  });

  it("answers another client's PINGREQ while one client floods", async () => {
    await using srv = await startServer({ mqtt: { readBudgetBytesPerTurn: 100 } });
    const port = srv.addresses.mqtt as number;
    const sub = await RawClient.connected(port, 4);
    sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "budget/flood", qos: 0 }] });
    expect((await sub.next()).cmd).toBe("suback");
    const pub = await RawClient.connected(port, 4);
    const other = await RawClient.connected(port, 4);
    // Under one 64 KiB read, so that without a budget the server handles all of it in one go.
    const TOTAL = 3000;
    const bytes = flood("budget/flood", TOTAL, 0);
    expect(bytes.length).toBeLessThan(64 * 1024);
    const received = (): number => srv.server.metrics.total("mqtt_messages_received_total");
    const before = received();
    const delivered = (): number => sub.packets.filter((p) => p.cmd === "publish").length;
    try {
      // The PINGREQ is written after the flood, so it is read after it: without a budget every publish
      // of the flood is handled before it, with one only the first few (the rest wait turn by turn).
      pub.send(bytes);
      await other.ping(10_000);
      const handledAtPong = received() - before;
      await waitFor(() => delivered() === TOTAL, "every publish of the flood delivered", 30_000);
      expect(handledAtPong).toBeLessThan(TOTAL);
      const payloads = sub.packets.flatMap((p) =>
        p.cmd === "publish" ? [Number(p.payload.toString())] : [],
      );
      expect(payloads).toEqual(Array.from({ length: TOTAL }, (_, i) => i));
    } finally {
      pub.destroy();
      other.destroy();
      sub.destroy();
    }
  });
});
