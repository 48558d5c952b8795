/**
 * MQTT onto Skein topics (DESIGN §3): a publish to a missing path creates a real topic whose type is
 * inferred from the v5 properties, with `retention: "mqtt"` and a removal policy; retained publishes
 * set its value, an empty one clears it; a payload that does not fit the type is refused.
 */
import { describe, expect } from "vitest";
import { FakeClock } from "../fake-clock.js";
import { roundTrip, waitFor } from "../helpers.js";
import { TRANSPORTS, VERSIONS, mqttTest } from "./fixture.js";

describe.concurrent.each(TRANSPORTS)("MQTT topics over %s", (transport) => {
  const it = mqttTest(transport);

  it("infers the type of a topic a v5 publish creates, with MQTT retention and a removal policy", async ({
    f,
  }) => {
    await f.start({ mqtt: { createdTopicIdleMs: 60_000 } });
    const pub = await f.connect({ protocolVersion: 5 });
    await pub.client.publishAsync("types/json", '{"a":1}', {
      qos: 1,
      properties: { contentType: "application/json" },
    });
    await pub.client.publishAsync("types/json-charset", "[1,2]", {
      qos: 1,
      properties: { contentType: "Application/JSON; charset=utf-8" },
    });
    await pub.client.publishAsync("types/string", "text", {
      qos: 1,
      properties: { payloadFormatIndicator: true },
    });
    await pub.client.publishAsync("types/binary", Buffer.from([0, 255]), { qos: 1 });
    await pub.client.publishAsync("types/other", "x", { qos: 1, properties: { contentType: "text/csv" } });
    const types = ["json", "json-charset", "string", "binary", "other"].map(
      (t) => f.srv.server.getTopic(`types/${t}`)?.spec.type,
    );
    expect(types).toEqual(["json", "json", "string", "binary", "binary"]);
    const spec = f.srv.server.getTopic("types/json")!.spec;
    expect(spec.properties?.retention).toBe("mqtt");
    expect(spec.properties?.removal).toMatchObject({ idleMs: 60_000 });
  });

  describe.each(VERSIONS)("protocol version %i", (protocolVersion) => {
    it("creates a binary topic from a publish; only retained publishes set its value", async ({ f }) => {
      await f.start();
      const pub = await f.connect({ protocolVersion });
      await pub.client.publishAsync("value/t", "not retained", { qos: 1 });
      const topic = f.srv.server.getTopic("value/t");
      expect(topic?.spec.type).toBe("binary");
      expect(topic?.value).toBeUndefined();

      await pub.client.publishAsync("value/t", "retained", { qos: 1, retain: true });
      expect(Buffer.from(f.srv.server.getTopic("value/t")!.value!).toString()).toBe("retained");
      await pub.client.publishAsync("value/t", "live only", { qos: 1 });
      expect(Buffer.from(f.srv.server.getTopic("value/t")!.value!).toString()).toBe("retained");
      // An empty retained publish clears the value [MQTT-3.3.1-10]; the topic stays.
      await pub.client.publishAsync("value/t", "", { qos: 1, retain: true });
      expect(f.srv.server.getTopic("value/t")?.value).toBeUndefined();
      expect(f.srv.server.getTopic("value/t")?.spec.type).toBe("binary");
    });

    it("removes a created topic left without value or subscribers, keeps the others", async ({ f }) => {
      const clock = new FakeClock();
      await f.start({ mqtt: { createdTopicIdleMs: 500 }, limits: { removalSweepMs: 50 } }, { clock });
      const sub = await f.connect({ protocolVersion });
      await sub.client.subscribeAsync("idle/watched", { qos: 0 });
      const pub = await f.connect({ protocolVersion });
      await pub.client.publishAsync("idle/transient", "x", { qos: 1 });
      await pub.client.publishAsync("idle/retained", "x", { qos: 1, retain: true });
      await pub.client.publishAsync("idle/watched", "x", { qos: 1 });
      clock.advance(499); // nine sweeps, each too early
      expect(f.srv.server.getTopic("idle/transient")).toBeDefined();
      clock.advance(1); // the sweep at 500 ms idle
      expect(f.srv.server.getTopic("idle/transient")).toBeUndefined();
      clock.advance(200); // several more sweeps
      expect(f.srv.server.getTopic("idle/retained")).toBeDefined();
      expect(f.srv.server.getTopic("idle/watched")).toBeDefined();
      // Publishing again re-creates it.
      await pub.client.publishAsync("idle/transient", "y", { qos: 1 });
      expect(f.srv.server.getTopic("idle/transient")).toBeDefined();
    });

    it("refuses a payload that does not fit the topic's type, leaving value and connection alone", async ({
      f,
    }) => {
      await f.start();
      const sub = await f.connect({ protocolVersion });
      await sub.client.subscribeAsync("typed/j", { qos: 1 });
      const creator = await f.connect({ protocolVersion: 5 });
      await creator.client.publishAsync("typed/j", '{"ok":true}', {
        qos: 1,
        retain: true,
        properties: { contentType: "application/json" },
      });
      const pub = await f.connect({ protocolVersion });
      const bad = pub.client.publishAsync("typed/j", "not json", { qos: 1, retain: true });
      // v5: PUBACK 0x99 (DESIGN §3); 3.1.1 has no negative PUBACK: acknowledged, not delivered.
      if (protocolVersion === 5) await expect(bad).rejects.toMatchObject({ code: 0x99 });
      else await bad;
      pub.client.publish("typed/j", "not json either", { qos: 0 });
      await pub.client.publishAsync("typed/j", '{"ok":"still"}', { qos: 1 });
      await waitFor(() => sub.got.length === 2, "the valid updates");
      await roundTrip(sub.client);
      expect(sub.got.map((m) => m.payload.toString())).toEqual(['{"ok":true}', '{"ok":"still"}']);
      expect(Buffer.from(f.srv.server.getTopic("typed/j")!.value!).toString()).toBe('{"ok":true}');
      expect(pub.client.connected).toBe(true);
      expect(f.srv.server.metrics.get("skein_updates_refused_total", { reason: "PAYLOAD_INVALID" })).toBe(2);
    });

    it("refuses publishes to missing topics when mqtt.allowTopicCreation is false", async ({ f }) => {
      await f.start({ mqtt: { allowTopicCreation: false } });
      const pub = await f.connect({ protocolVersion });
      const sent = pub.client.publishAsync("nowhere/t", "x", { qos: 1 });
      if (protocolVersion === 5) await expect(sent).rejects.toMatchObject({ code: 0x90 });
      else await sent;
      expect(f.srv.server.getTopic("nowhere/t")).toBeUndefined();
      expect(pub.client.connected).toBe(true);
    });
  });

  it("forwards a v5 publisher's message to a typed topic unaltered, without added properties", async ({
    f,
  }) => {
    await f.start();
    const creator = await f.connect({ protocolVersion: 5 });
    await creator.client.publishAsync("typed/plain", "{}", {
      qos: 1,
      properties: { contentType: "application/json" },
    });
    const sub = await f.connect({ protocolVersion: 5 });
    await sub.client.subscribeAsync("typed/plain", { qos: 1, rh: 2 });
    await creator.client.publishAsync("typed/plain", "[1]", { qos: 1 });
    await waitFor(() => sub.got.length === 1, "the update");
    expect(sub.got[0]!.packet.properties?.contentType).toBeUndefined();
    expect(sub.got[0]!.packet.properties?.payloadFormatIndicator).toBeUndefined();
  });

  // DESIGN §3: v5 subscribers of a typed topic learn its content type and format from 3.1.1 publishers,
  // who cannot say; a v5 publisher's properties are forwarded unaltered [MQTT-3.3.2-4] [MQTT-3.3.2-20].
  it("tells v5 subscribers the content type and format of a typed topic when a 3.1.1 client publishes", async ({
    f,
  }) => {
    await f.start();
    const creator = await f.connect({ protocolVersion: 5 });
    await creator.client.publishAsync("typed/out", "{}", {
      qos: 1,
      properties: { contentType: "application/json" },
    });
    await creator.client.publishAsync("typed/text", "a", {
      qos: 1,
      properties: { payloadFormatIndicator: true },
    });
    const sub = await f.connect({ protocolVersion: 5 });
    await sub.client.subscribeAsync("typed/+", { qos: 1 });
    const old = await f.connect({ protocolVersion: 4 });
    await old.client.publishAsync("typed/out", '{"from":"v4"}', { qos: 1 });
    await old.client.publishAsync("typed/text", "from v4", { qos: 1 });
    await waitFor(() => sub.got.length === 2, "both updates");
    // DESIGN §3: outgoing v5 PUBLISHes carry the content type and format indicator of the topic's type.
    expect(sub.got[0]!.packet.properties).toMatchObject({
      contentType: "application/json",
      payloadFormatIndicator: true,
    });
    expect(sub.got[1]!.packet.properties).toMatchObject({ payloadFormatIndicator: true });
  });
});
