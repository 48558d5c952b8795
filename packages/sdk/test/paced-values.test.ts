/**
 * Current values sent when something is selected or subscribed (issue 12, items 4 and 5):
 * - client control's `clients.subscribe` of an MQTT session sends the topics' current values as
 *   retained PUBLISHes, as a SUBSCRIBE of the client's own would [MQTT-3.3.1-9];
 * - a selection of many topics is told as the WebSocket drains, so it neither trips the slow-consumer
 *   bound (`sdk.maxOutboundBytes`) nor loses a topic.
 */
import { ANONYMOUS_ADMIN } from "../../server/test/helpers.js";
import mqttPacket from "mqtt-packet";
import type { MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { RawClient } from "../../server/test/raw-client.js";
import { type SdkFixture, collect, connectClient, recorder, startSdkServer, waitFor } from "./helpers.js";

let f: SdkFixture | undefined;
const clients: MqttClient[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
  await f?.close();
  f = undefined;
});

/** Retains a `size`-byte value on `count` topics `many/<i>`, through one burst of MQTT PUBLISHes. */
async function retainMany(fixture: SdkFixture, count: number, size: number): Promise<void> {
  const client = await RawClient.connected(fixture.server.addresses.mqtt as number, 4);
  const packets = Array.from({ length: count }, (_, i) =>
    mqttPacket.generate(
      {
        cmd: "publish",
        topic: `many/${i}`,
        payload: Buffer.alloc(size, i),
        qos: 0,
        dup: false,
        retain: true,
      },
      { protocolVersion: 4 },
    ),
  );
  client.send(Buffer.concat(packets));
  const metrics = fixture.server.server.metrics;
  await waitFor(() => metrics.get("skein_topics") >= count, "the retained topics", 10_000);
  client.destroy();
}

describe("client control subscribe", () => {
  it("sends an MQTT client the current values of what it is subscribed to, as retained PUBLISHes", async () => {
    f = await startSdkServer(ANONYMOUS_ADMIN);
    const admin = await f.connect();
    await admin.topics.addAndSet("alarms/kitchen", { type: "string" }, "smoke");
    await admin.topics.addAndSet("alarms/garage", { type: "string" }, "quiet");
    const device = await connectClient(f.server.url(), { protocolVersion: 5, clientId: "panel" });
    clients.push(device);
    const got = collect(device);
    const [info] = await admin.clients.list("$ClientId eq 'panel'");
    expect(await admin.clients.subscribe(info!.sessionId, ">alarms//")).toBe(1);
    await waitFor(() => got.length === 2, "the two current values");
    const seen = got.map((m) => [m.topic, m.payload.toString(), m.packet.retain]).sort();
    expect(seen).toEqual([
      ["alarms/garage", "quiet", true],
      ["alarms/kitchen", "smoke", true],
    ]);
  });
});

describe("a selection of many topics", () => {
  it("tells every topic as the socket drains, without tripping the slow-consumer bound", async () => {
    // 20,000 topics of 256 bytes: about 6 MB of topic frames against a 1 MB outbound bound.
    const COUNT = 20_000;
    f = await startSdkServer({ sdk: { maxOutboundBytes: 1024 * 1024 } });
    await retainMany(f, COUNT, 256);
    const viewer = await f.connect();
    const stream = recorder<Uint8Array>();
    viewer.addStream(">many//", "binary", stream);
    // Live updates while the topics are being told: each is a frame sent while the selection's are
    // still on their way (the old all-at-once select then found the socket over its bound).
    const publisher = await connectClient(f.server.url(), { protocolVersion: 4 });
    clients.push(publisher);
    let updates = 0;
    const live = setInterval(() => {
      if (updates < 2000) publisher.publish(`many/${updates++ % 10}`, Buffer.alloc(256), { retain: true });
    }, 1);
    try {
      await viewer.select(">many//");
      const subscribed = () => stream.events.filter((e) => e.kind === "subscribe").length;
      await waitFor(() => subscribed() === COUNT, `all ${COUNT} topics`, 20_000);
    } finally {
      clearInterval(live);
    }
    expect(f.server.server.metrics.get("sdk_slow_consumers_total")).toBe(0);
    expect(viewer.state).toBe("connected");
  });
});
