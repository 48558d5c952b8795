/**
 * examples/paho-conformance.json is the configuration the Eclipse Paho interoperability suites are run
 * with (docs/mqtt.md, "Conformance checks"): anonymous clients may do everything except subscribe to
 * `test/nosubscribe` (the suites' `test_subscribe_failure`), and the server lowers keep alives above
 * 60 s, announcing it in CONNACK (`test_server_keep_alive`). This keeps the file valid and doing that.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { type SkeinConfigInput, parseConfig } from "../../src/index.js";
import { type TestServer, connectClient, startServer } from "../helpers.js";

const file = join(import.meta.dirname, "../../../../examples/paho-conformance.json");
const config = JSON.parse(readFileSync(file, "utf8")) as SkeinConfigInput;

let srv: TestServer | undefined;
afterEach(async () => {
  await srv?.close();
  srv = undefined;
});

describe("the Paho suites' configuration (examples/paho-conformance.json)", () => {
  it("is a valid configuration", () => {
    expect(() => parseConfig(config)).not.toThrow();
  });

  it.each([5, 4] as const)(
    "MQTT %i: refuses SUBSCRIBE to test/nosubscribe, grants others",
    async (version) => {
      srv = await startServer(config);
      const client = await connectClient(srv.url(), { protocolVersion: version });
      // MQTT.js rejects a SUBACK holding a failure code; the packet comes with the error.
      const granted = await client
        .subscribeAsync({ "test/nosubscribe": { qos: 2 }, "TopicA/#": { qos: 2 } })
        .then(
          () => undefined,
          (err: { packet?: { granted?: number[] } }) => err.packet?.granted,
        );
      expect(granted).toEqual([version === 5 ? 0x87 : 0x80, 2]);
      await client.endAsync();
    },
  );

  it("lowers a keep alive of 120 s to 60 s and says so in CONNACK (Server Keep Alive)", async () => {
    srv = await startServer(config);
    const client = await connectClient(srv.url(), { protocolVersion: 5, keepalive: 120 });
    // connectAsync resolved after CONNACK; the client keeps it.
    const connack = (client as unknown as { connackPacket?: unknown }).connackPacket;
    expect(connack).toMatchObject({ properties: { serverKeepAlive: 60 } });
    await client.endAsync();
  });
});
