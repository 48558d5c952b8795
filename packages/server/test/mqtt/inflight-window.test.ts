/**
 * The session's packet-id tables over real sockets (issue 12 item 18, mqtt/inflight.ts): the outgoing
 * window grows when a reconnect brings a larger Receive Maximum, keeping what is in flight and its
 * order [MQTT-4.6.0-1]; a 3.1.1 client holding more unreleased QoS 2 ids than the table keeps
 * (past 512 it becomes a bitmap) is still answered once per id [MQTT-4.3.3-3] [MQTT-4.3.3-9].
 */
import type { IPublishPacket } from "mqtt-packet";
import { describe, expect } from "vitest";
import { waitFor } from "../helpers.js";
import { TRANSPORTS, mqttTest } from "./fixture.js";

function session(receiveMaximum: number) {
  return {
    protocolVersion: 5 as const,
    clientId: "window",
    clean: false,
    properties: { sessionExpiryInterval: 60, receiveMaximum },
  };
}

describe.concurrent.each(TRANSPORTS)("packet-id tables over %s", (transport) => {
  const it = mqttTest(transport);

  it("keeps messages in flight and their order when a reconnect raises Receive Maximum", async ({ f }) => {
    await f.start();
    const sub = await f.raw();
    await sub.connect(session(2));
    sub.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "win/#", qos: 1 }] });
    await sub.next("suback");
    const pub = await f.connect({ protocolVersion: 5 });
    for (let i = 0; i < 6; i++) await pub.client.publishAsync(`win/${i}`, String(i), { qos: 1 });
    const first = [await sub.next("publish"), await sub.next("publish")];
    await sub.ping();
    expect(sub.all("publish")).toHaveLength(2); // Receive Maximum 2 [MQTT-3.3.4-7]
    sub.destroy();

    const again = await f.raw();
    expect((await again.connect(session(8))).sessionPresent).toBe(true);
    const got: IPublishPacket[] = [];
    for (let i = 0; i < 6; i++) got.push(await again.next("publish"));
    expect(got.map((p) => [p.topic, p.dup])).toEqual([
      ["win/0", true],
      ["win/1", true],
      ["win/2", false],
      ["win/3", false],
      ["win/4", false],
      ["win/5", false],
    ]);
    expect(got.slice(0, 2).map((p) => p.messageId)).toEqual(first.map((p) => p.messageId));
    expect(new Set(got.map((p) => p.messageId)).size).toBe(6); // [MQTT-2.2.1-3]
    for (const p of got) again.send({ cmd: "puback", messageId: p.messageId });
    await pub.client.publishAsync("win/6", "6", { qos: 1 });
    expect((await again.next("publish")).topic).toBe("win/6");
    await again.ping();
    expect(again.all("publish")).toHaveLength(7);
  });

  it("answers a 3.1.1 client holding 600 unreleased QoS 2 ids once per id", async ({ f }) => {
    await f.start();
    const sub = await f.connect({ protocolVersion: 4 });
    await sub.client.subscribeAsync("q2/#", { qos: 0 });
    const pub = await f.raw();
    await pub.connect({ protocolVersion: 4, clientId: "q2-publisher" });
    const n = 600;
    const publish = (id: number, dup: boolean): IPublishPacket => ({
      cmd: "publish",
      topic: `q2/${id}`,
      payload: Buffer.from(String(id)),
      qos: 2,
      messageId: id,
      dup,
      retain: false,
    });
    // Ids picked in steps of 64 first, then the rest: collisions in the table, then its bitmap.
    const ids = [...Array(n).keys()].map((i) => i + 1);
    const order = [...ids.filter((id) => id % 64 === 0), ...ids.filter((id) => id % 64 !== 0)];
    for (const id of order) pub.send(publish(id, false));
    for (const id of [64, 5, 599]) pub.send(publish(id, true)); // re-sent before PUBREL [MQTT-4.3.3-9]
    await waitFor(() => pub.all("pubrec").length === n + 3, "a PUBREC per PUBLISH");
    for (const id of ids) pub.send({ cmd: "pubrel", messageId: id });
    await waitFor(() => pub.all("pubcomp").length === n, "a PUBCOMP per PUBREL");
    await waitFor(() => sub.got.length === n, `${n} messages`);
    await pub.ping();
    expect(new Set(sub.got.map((m) => m.topic)).size).toBe(n);
    expect(sub.got).toHaveLength(n);
    expect(pub.closed).toBe(false);
  });
});
