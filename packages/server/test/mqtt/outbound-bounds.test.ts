/**
 * Replies count against the outbound bound (issue 12, items 7 and 8): a client that floods PINGREQ or
 * QoS 1 PUBLISH and never reads the PINGRESPs and PUBACKs is no longer read past
 * `mqtt.outboundHighWaterBytes`, and when it takes nothing for `mqtt.outboundStallMs` it is
 * disconnected (v5: DISCONNECT 0x97 Quota exceeded), counted in `mqtt_outbound_stalled_total`.
 */
import { once } from "node:events";
import mqttPacket from "mqtt-packet";
import { describe, expect, it } from "vitest";
import { startServer, waitFor } from "../helpers.js";
import { RawClient } from "../raw-client.js";

const CHUNK = 64 * 1024;
/** At most this many chunks are written (a bound on the test, far above what the server should take). */
const MAX_CHUNKS = 1024;

/** Writes `chunk` until the server closes the connection (or MAX_CHUNKS), never reading a byte. */
async function floodUnread(client: RawClient, chunk: Buffer): Promise<number> {
  const socket = client.socket;
  socket.pause(); // read nothing the server sends
  socket.removeAllListeners("data");
  let written = 0;
  for (let i = 0; i < MAX_CHUNKS && !client.ended && !socket.destroyed; i++) {
    written += chunk.length;
    if (!socket.write(chunk)) {
      // A reset from the server (it closed the connection) ends the flood.
      await Promise.race([once(socket, "drain").catch(() => undefined), client.closed]);
    }
  }
  return written;
}

function repeat(packet: Buffer, bytes: number): Buffer {
  return Buffer.concat(Array.from({ length: Math.floor(bytes / packet.length) }, () => packet));
}

describe("outbound bounds of clients that do not read", () => {
  it("stops reading a PINGREQ flood and disconnects the client when it reads nothing", async () => {
    await using srv = await startServer({ mqtt: { outboundStallMs: 200 } });
    const client = await RawClient.connected(srv.addresses.mqtt as number, 5);
    const written = await floodUnread(client, repeat(Buffer.from([0xc0, 0x00]), CHUNK));
    await client.waitClosed(10_000);
    expect(written).toBeLessThan(MAX_CHUNKS * CHUNK);
    expect(srv.server.metrics.get("mqtt_outbound_stalled_total")).toBe(1);
    // The server took a bounded part of the flood: far less than the client wrote before it was cut off.
    expect(srv.server.metrics.get("mqtt_bytes_received_total")).toBeLessThan(written);
  });

  it("stops reading a QoS 1 PUBLISH flood whose PUBACKs are never read, then disconnects it", async () => {
    await using srv = await startServer({ mqtt: { outboundStallMs: 200 } });
    const client = await RawClient.connected(srv.addresses.mqtt as number, 4);
    const publish = mqttPacket.generate(
      {
        cmd: "publish",
        topic: "flood/q1",
        payload: Buffer.alloc(8),
        qos: 1,
        dup: false,
        retain: false,
        messageId: 7,
      },
      { protocolVersion: 4 },
    );
    const written = await floodUnread(client, repeat(publish, CHUNK));
    await client.waitClosed(10_000);
    expect(written).toBeLessThan(MAX_CHUNKS * CHUNK);
    expect(srv.server.metrics.get("mqtt_outbound_stalled_total")).toBe(1);
  });

  it("keeps serving a client that reads its replies", async () => {
    await using srv = await startServer({ mqtt: { outboundStallMs: 200 } });
    const client = await RawClient.connected(srv.addresses.mqtt as number, 5);
    client.send(repeat(Buffer.from([0xc0, 0x00]), CHUNK));
    await waitFor(
      () => client.packets.filter((p) => p.cmd === "pingresp").length === CHUNK / 2,
      "every PINGRESP",
    );
    await client.ping();
    expect(srv.server.metrics.get("mqtt_outbound_stalled_total")).toBe(0);
    client.destroy();
  });
});
