/**
 * Test helpers: a real server on port 0, MQTT.js clients for it over TCP or WebSocket, and small
 * waiting utilities that poll a condition (no fixed sleeps as assertions).
 */
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import {
  createServer,
  type ServerDependencies,
  type SkeinConfigInput,
  type SkeinServer,
  type ListeningAddresses,
  type Authenticator,
} from "../src/index.js";

/** A running test server and its ports. */
export interface TestServer {
  server: SkeinServer;
  addresses: ListeningAddresses;
  /** URL for MQTT over `transport`. */
  url(transport?: "tcp" | "ws"): string;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts a server on loopback, every port 0, logs silent (override with config); `deps` injects e.g. a
 * FakeClock (fake-clock.ts).
 */
export async function startServer(
  config: SkeinConfigInput = {},
  deps: ServerDependencies = {},
): Promise<TestServer> {
  const server = createServer(
    {
      host: "127.0.0.1",
      logLevel: "silent",
      ...config,
      mqtt: { port: 0, tlsPort: false, ...config.mqtt },
      http: { port: 0, tlsPort: false, ...config.http },
    },
    deps,
  );
  const addresses = await server.listen();
  const close = () => server.close();
  return {
    server,
    addresses,
    url: (transport = "tcp") =>
      transport === "ws" ? `ws://127.0.0.1:${addresses.http}/mqtt` : `mqtt://127.0.0.1:${addresses.mqtt}`,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/**
 * For tests that are not about authentication: lets in any claimed principal (MQTT user name, SDK
 * hello principal) whatever its password, with every permission; abstains for anonymous clients.
 */
export const trustClaimedNames: Authenticator = {
  authenticate: async (c) =>
    c.principal ? { decision: "allow", principal: c.principal, roles: ["admin"] } : { decision: "abstain" },
};

/** Configuration for tests of client and server control: anonymous sessions hold every permission. */
export const ANONYMOUS_ADMIN = { security: { anonymous: { roles: ["admin"] } } } as const;

/** Connects an MQTT.js client (no reconnect unless asked) and waits for CONNACK. */
export async function connectClient(url: string, options: IClientOptions = {}): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5000, ...options });
}

/** Polls `condition` until it is true or `timeoutMs` passes (then throws with `what`). */
export async function waitFor(condition: () => boolean, what = "condition", timeoutMs = 5000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A round trip on each client in turn (an UNSUBSCRIBE of a filter it never subscribed, answered by
 * UNSUBACK), in the order given: once it resolves, the server has processed every packet that client
 * sent before, and the client has received everything the server wrote to it before. Put publishers
 * first and subscribers last to prove that a message was NOT delivered, without waiting on time.
 */
export async function roundTrip(...clients: MqttClient[]): Promise<void> {
  for (const client of clients) await client.unsubscribeAsync("skein-test/round-trip");
}

/** Collects messages a client receives. */
export function collect(
  client: MqttClient,
): { topic: string; payload: Buffer; packet: mqtt.IPublishPacket }[] {
  const got: { topic: string; payload: Buffer; packet: mqtt.IPublishPacket }[] = [];
  client.on("message", (topic, payload, packet) => got.push({ topic, payload, packet }));
  return got;
}
