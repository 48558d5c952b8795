/**
 * Order on the wire, over raw sockets:
 * - User Properties are forwarded unaltered and in order [MQTT-3.3.2-17] [MQTT-3.3.2-18], a Will's
 *   too [MQTT-3.1.3-10], including names that interleave (a, b, a), which MQTT.js and mqtt-packet
 *   cannot express;
 * - a client subscribed to what it publishes gets the PUBACK / PUBREC before its own copy.
 */
import { afterEach, describe, expect, it } from "vitest";
import { startServer, waitFor, type TestServer } from "../helpers.js";
import { RawClient, frame, props, str, u16 } from "../raw-client.js";
import { pairsOfPublish } from "./publish-bytes.js";

let srv: TestServer;
afterEach(async () => srv?.close());

const PAIRS: [string, string][] = [
  ["a", "1"],
  ["b", "2"],
  ["a", "3"],
  ["", ""],
  ["b", ""],
];
const userProperties = (pairs: [string, string][]) =>
  pairs.map(([n, v]) => Buffer.concat([Buffer.from([0x26]), str(n), str(v)]));

/** A raw v5 subscriber to `filter` that keeps every byte it receives. */
async function subscriber(port: number, filter: string): Promise<{ raw: RawClient; bytes: () => Buffer }> {
  const raw = await RawClient.connected(port, 5);
  const chunks: Buffer[] = [];
  raw.socket.on("data", (chunk: Buffer) => chunks.push(chunk));
  raw.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: filter, qos: 0 }] });
  expect((await raw.next()).cmd).toBe("suback");
  return { raw, bytes: () => Buffer.concat(chunks) };
}

describe("User Property order", () => {
  it("forwards interleaved names in the order they arrived, live and retained", async () => {
    srv = await startServer();
    const port = srv.addresses.mqtt as number;
    const live = await subscriber(port, "order/#");
    const pub = await RawClient.connected(port, 5);
    // PUBLISH QoS 0, retained, with a Content Type between the User Properties.
    const properties = props(
      ...userProperties(PAIRS.slice(0, 2)),
      Buffer.from([0x03]),
      str("t"),
      ...userProperties(PAIRS.slice(2)),
    );
    pub.send(frame(0x31, str("order/x"), properties, Buffer.from("payload")));
    await waitFor(() => live.raw.packets.some((p) => p.cmd === "publish"), "the live message");
    expect(pairsOfPublish(live.bytes())).toEqual(PAIRS);
    const late = await subscriber(port, "order/x");
    await waitFor(() => late.raw.packets.some((p) => p.cmd === "publish"), "the retained message");
    expect(pairsOfPublish(late.bytes())).toEqual(PAIRS);
  });

  it("publishes a Will with its interleaved User Properties in order", async () => {
    srv = await startServer();
    const port = srv.addresses.mqtt as number;
    const watcher = await subscriber(port, "will/#");
    const dying = await RawClient.open(port, 5);
    // CONNECT v5 with a Will (flag 0x04), keep alive 0, client id "d".
    const willProps = props(...userProperties(PAIRS));
    dying.send(
      frame(
        0x10,
        str("MQTT"),
        Buffer.from([5, 0x06]),
        u16(0),
        props(),
        str("d"),
        willProps,
        str("will/d"),
        str("gone"),
      ),
    );
    expect((await dying.next()).cmd).toBe("connack");
    dying.destroy(); // no DISCONNECT: the Will is published
    await waitFor(() => watcher.raw.packets.some((p) => p.cmd === "publish"), "the Will");
    expect(pairsOfPublish(watcher.bytes())).toEqual(PAIRS);
  });
});

describe("acknowledgement before the publisher's own copy", () => {
  it.each([
    [4, 1, "puback"],
    [5, 1, "puback"],
    [4, 2, "pubrec"],
    [5, 2, "pubrec"],
  ] as const)("MQTT %i, QoS %i: %s first, then the PUBLISH", async (version, qos, ackCmd) => {
    srv = await startServer();
    const client = await RawClient.connected(srv.addresses.mqtt as number, version);
    client.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "self/#", qos: 2 }] });
    expect((await client.next()).cmd).toBe("suback");
    client.send({
      cmd: "publish",
      topic: "self/a",
      payload: Buffer.from("x"),
      qos,
      retain: false,
      dup: false,
      messageId: 7,
    });
    expect((await client.next()).cmd).toBe(ackCmd);
    expect(await client.next()).toMatchObject({ cmd: "publish", topic: "self/a" });
  });
});
