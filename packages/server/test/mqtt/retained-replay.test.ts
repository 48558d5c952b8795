/**
 * Retained replay is paced by the socket (issue 12, item 5): a subscriber to `#` with many retained
 * topics gets every retained message, at QoS 1 and at QoS 0, instead of the first few thousand and
 * the rest counted as slow-consumer drops.
 */
import mqttPacket from "mqtt-packet";
import { describe, expect } from "vitest";
import { waitFor } from "../helpers.js";
import { RawClient } from "../raw-client.js";
import { TRANSPORTS, mqttTest } from "./fixture.js";

const TOPICS = 20_000;
/** Payload bytes: 20,000 of them are more than the 4 MB outbound bound the old replay wrote at once. */
const SIZE = 256;

/** Retains one value on each of TOPICS topics, in one burst of QoS 0 PUBLISHes. */
async function retainMany(port: number, topicCount: () => number): Promise<void> {
  const client = await RawClient.connected(port, 4);
  const packets = Array.from({ length: TOPICS }, (_, i) =>
    mqttPacket.generate(
      {
        cmd: "publish",
        topic: `many/${i}`,
        payload: Buffer.alloc(SIZE, i),
        qos: 0,
        dup: false,
        retain: true,
      },
      { protocolVersion: 4 },
    ),
  );
  client.send(Buffer.concat(packets));
  await waitFor(() => topicCount() >= TOPICS, "the retained topics", 10_000);
  client.destroy();
}

describe.concurrent.each(TRANSPORTS)("retained replay over %s", (transport) => {
  const it = mqttTest(transport);

  for (const qos of [1, 0] as const) {
    it(`sends every retained message to a QoS ${qos} subscriber of #`, async ({ f }) => {
      await f.start();
      const metrics = f.srv.server.metrics;
      await retainMany(f.srv.addresses.mqtt as number, () => metrics.get("skein_topics"));
      const sub = await f.connect({ protocolVersion: 5 });
      let retained = 0;
      sub.client.on("message", (_topic, _payload, packet) => {
        if (packet.retain) retained++;
      });
      await sub.client.subscribeAsync("#", { qos });
      await waitFor(() => retained === TOPICS, `all ${TOPICS} retained messages`, 20_000);
      expect(metrics.total("mqtt_messages_dropped_total")).toBe(0);
    });
  }
});
