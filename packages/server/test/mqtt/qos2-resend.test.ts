/**
 * QoS 2 publishers that reconnect and send their in-flight packets again, as MQTT.js does: it sends a
 * stored PUBLISH again with DUP 0 (against [MQTT-3.3.1-1]) and a PUBREL again whatever happened to
 * it. Until PUBREL the server acknowledges any PUBLISH with the same packet id and does not deliver
 * it again [MQTT-4.3.3-9]; a PUBREL whose id was released already is answered PUBCOMP as well
 * [MQTT-4.3.3-11] (MQTT 5 §3.7.2.1: "not an error during recovery"). Both with success codes, as
 * Mosquitto answers, so that the client's publish completes without an error, delivered once.
 */
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterEach, describe, expect, it } from "vitest";
import { deafenable } from "../deaf-stream.js";
import { type TestServer, collect, connectClient, roundTrip, startServer, waitFor } from "../helpers.js";

let srv: TestServer | undefined;
const clients: MqttClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.end(true);
  await srv?.close();
  srv = undefined;
});

/** An MQTT.js publisher with a kept session whose connection can go deaf (drop what the server sends). */
function publisher(port: number, version: 4 | 5, clientId: string) {
  const state = { deaf: false, heard: 0 };
  const options: IClientOptions = {
    protocolVersion: version,
    clientId,
    clean: false,
    reconnectPeriod: 20,
    connectTimeout: 5000,
    ...(version === 5 && { properties: { sessionExpiryInterval: 600 } }),
  };
  const client = new mqtt.MqttClient(
    () =>
      deafenable(
        port,
        () => state.deaf,
        () => state.heard++,
      ),
    options,
  );
  client.on("error", () => {});
  clients.push(client);
  return { client, state };
}

/** Drops the publisher's connection (it reconnects by itself) and waits until it is back. */
async function reconnect(p: ReturnType<typeof publisher>): Promise<void> {
  let back = false;
  p.client.once("connect", () => (back = true));
  p.state.deaf = false;
  p.client.stream.destroy();
  await waitFor(() => back, "the publisher's reconnection");
}

describe.each([5, 4] as const)("MQTT %i: QoS 2 in flight across a reconnection (MQTT.js)", (version) => {
  it("a PUBLISH sent again after its PUBREC was lost completes, delivered once", async () => {
    srv = await startServer({ security: { anonymous: { roles: ["admin"] } } });
    const watcher = await connectClient(srv.url(), { protocolVersion: version });
    clients.push(watcher);
    const seen = collect(watcher);
    await watcher.subscribeAsync("resend/#", { qos: 2 });
    const p = publisher(srv.addresses.mqtt!, version, `resend-pub-${version}`);
    await waitFor(() => p.client.connected, "the publisher's connection");

    p.state.deaf = true; // the PUBREC will be lost
    const done = p.client.publishAsync("resend/a", "once", { qos: 2 });
    await waitFor(() => p.state.heard > 0, "the PUBREC the publisher does not see");
    await reconnect(p); // MQTT.js sends the PUBLISH again, DUP 0
    await done; // PUBREC 0x00, PUBREL, PUBCOMP 0x00: no error
    await roundTrip(watcher);
    expect(seen.map((m) => m.payload.toString())).toEqual(["once"]);
    expect(srv.server.metrics.get("mqtt_qos2_duplicates_total", { dup: "0" })).toBe(1);
  });

  it("a PUBREL sent again after its PUBCOMP was lost completes", async () => {
    srv = await startServer({ security: { anonymous: { roles: ["admin"] } } });
    const watcher = await connectClient(srv.url(), { protocolVersion: version });
    clients.push(watcher);
    const seen = collect(watcher);
    await watcher.subscribeAsync("resend/#", { qos: 2 });
    const p = publisher(srv.addresses.mqtt!, version, `resend-rel-${version}`);
    await waitFor(() => p.client.connected, "the publisher's connection");

    // Deaf once the PUBREC arrived: the PUBREL goes out, its PUBCOMP is lost.
    p.client.once("packetreceive", (packet) => {
      if (packet.cmd === "pubrec") p.state.deaf = true;
    });
    const done = p.client.publishAsync("resend/b", "once", { qos: 2 });
    await waitFor(() => p.state.heard > 0, "the PUBCOMP the publisher does not see");
    await reconnect(p); // MQTT.js sends the PUBREL again; its id was released
    await done;
    await roundTrip(watcher);
    expect(seen.map((m) => m.payload.toString())).toEqual(["once"]);
    expect(srv.server.metrics.get("mqtt_pubrels_unknown_total")).toBe(1);
  });
});
