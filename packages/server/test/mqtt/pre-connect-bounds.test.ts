/**
 * What a socket that has not completed CONNECT may make the server hold (issue 12, item 9): one CONNECT
 * of at most `mqtt.maxConnectPacketSize`, refused from its header when it declares more (at once, not
 * at the connect timeout), and all such sockets together at most `mqtt.maxPendingConnectBytes`. Raw
 * sockets; the connect timeout is a minute, so every close seen here is the bound's doing.
 */
import { afterEach, describe, expect, it } from "vitest";
import { Reason } from "../../src/mqtt/reason-codes.js";
import { startServer, waitFor, type TestServer } from "../helpers.js";
import { RawClient, frame, str, u16, varint } from "../raw-client.js";

const CONNECT_TIMEOUT_MS = 60_000;
let srv: TestServer | undefined;
const raws: RawClient[] = [];
afterEach(async () => {
  for (const raw of raws.splice(0)) raw.destroy();
  await srv?.close();
  srv = undefined;
});

async function open(version: 4 | 5): Promise<RawClient> {
  const raw = await RawClient.open(srv!.addresses.mqtt!, version);
  raws.push(raw);
  return raw;
}

const metric = (name: string, labels?: Record<string, string>): number =>
  srv!.server.metrics.get(name, labels);

/** A 3.1.1 CONNECT with a Will whose payload is `willBytes` long. */
function connectWithWill(clientId: string, willBytes: number): Buffer {
  const head = Buffer.concat([str("MQTT"), Buffer.from([4, 0x06]), u16(60)]);
  return frame(0x10, head, str(clientId), str("w/t"), str(Buffer.alloc(willBytes, 0x61)));
}

describe("bytes held for sockets awaiting CONNECT", () => {
  it.each([4, 5] as const)(
    "refuses a CONNECT declaring more than maxConnectPacketSize from its header (v%i)",
    async (version) => {
      srv = await startServer({
        mqtt: { connectTimeoutMs: CONNECT_TIMEOUT_MS, maxConnectPacketSize: 16_384 },
      });
      const raw = await open(version);
      // The case: a 0.9 MB CONNECT of which only the start ever comes.
      const start = Buffer.concat([str("MQTT"), Buffer.from([version, 0x02]), u16(60)]);
      raw.send(Buffer.concat([Buffer.from([0x10]), varint(900_000), start]));
      // v5: CONNACK 0x95 Packet too large (the protocol level has arrived); 3.1.1: just closed.
      if (version === 5)
        expect(await raw.next()).toMatchObject({ cmd: "connack", reasonCode: Reason.PACKET_TOO_LARGE });
      await raw.waitClosed(5000);
      expect(metric("mqtt_protocol_errors_total", { reason: "connect_too_large" })).toBe(1);
      expect(metric("mqtt_pending_connect_bytes")).toBe(0);
    },
  );

  it("accepts a CONNECT up to maxConnectPacketSize, and larger packets after it", async () => {
    srv = await startServer({
      mqtt: { connectTimeoutMs: CONNECT_TIMEOUT_MS, maxConnectPacketSize: 4096, maxPacketSize: 65_536 },
    });
    const raw = await open(4);
    const connect = connectWithWill("fits", 4000);
    expect(connect.length).toBeLessThanOrEqual(4096);
    // In two pieces, so that the first is held while the CONNECT is incomplete.
    raw.send(connect.subarray(0, 100));
    await waitFor(() => metric("mqtt_pending_connect_bytes") === 100, "the first piece to be held");
    raw.send(connect.subarray(100));
    expect(await raw.next()).toMatchObject({ cmd: "connack", returnCode: 0 });
    expect(metric("mqtt_pending_connect_bytes")).toBe(0);
    raw.send({
      cmd: "publish",
      topic: "big",
      payload: Buffer.alloc(20_000),
      qos: 1,
      messageId: 1,
      retain: false,
      dup: false,
    });
    expect(await raw.next()).toMatchObject({ cmd: "puback", messageId: 1 });
  });

  it("closes sockets whose partial CONNECTs would take the total past maxPendingConnectBytes", async () => {
    srv = await startServer({
      mqtt: {
        connectTimeoutMs: CONNECT_TIMEOUT_MS,
        maxConnectPacketSize: 4096,
        maxPendingConnectBytes: 10_000,
      },
    });
    const connects = [0, 1, 2, 3, 4].map((i) => connectWithWill(`p${i}`, 3000));
    const held = (c: Buffer): number => c.length - 1;
    // Three sockets send all but the last byte of their CONNECT: about 9 KB held, within the bound.
    const waiting: RawClient[] = [];
    let total = 0;
    for (const connect of connects.slice(0, 3)) {
      const raw = await open(4);
      raw.send(connect.subarray(0, connect.length - 1));
      total += held(connect);
      await waitFor(() => metric("mqtt_pending_connect_bytes") === total, "the partial CONNECT to be held");
      waiting.push(raw);
    }
    // A fourth would take the total past 10,000 bytes: it is closed, counted, and holds nothing.
    const fourth = await open(4);
    fourth.send(connects[3]!.subarray(0, connects[3]!.length - 1));
    await fourth.waitClosed(5000);
    expect(metric("mqtt_connections_refused_total", { reason: "pending_connect_bytes" })).toBe(1);
    expect(metric("mqtt_pending_connect_bytes")).toBe(total);
    // The three that were within the bound are served when their last byte comes, and release theirs.
    for (const [i, raw] of waiting.entries()) {
      raw.send(connects[i]!.subarray(connects[i]!.length - 1));
      expect(await raw.next()).toMatchObject({ cmd: "connack", returnCode: 0 });
    }
    expect(metric("mqtt_pending_connect_bytes")).toBe(0);
    // And room is there again for a new socket.
    const fifth = await open(4);
    fifth.send(connects[4]!.subarray(0, connects[4]!.length - 1));
    await waitFor(() => metric("mqtt_pending_connect_bytes") === held(connects[4]!), "the fifth to be held");
    fifth.destroy();
    await waitFor(() => metric("mqtt_pending_connect_bytes") === 0, "a dropped socket to release its bytes");
  });
});
