/**
 * The shared shape of the bad-input tests: a server with small limits, a well-behaved MQTT.js client
 * (the bystander) connected before any bad input and checked after each one, and a runner for
 * table-driven cases { name, version, bytes, expect }.
 */
import type { Socket } from "node:net";
import type { MqttClient } from "mqtt";
import type { IConnectPacket } from "mqtt-packet";
import { expect } from "vitest";
import type { FakeClock } from "../fake-clock.js";
import { collect, connectClient, startServer, waitFor, type TestServer } from "../helpers.js";
import { RawClient, type Sendable } from "../raw-client.js";

/** Label values of a counter series. */
type Labels = Readonly<Record<string, string>>;

/** Limits the bad-input servers run with (small, so tests can exceed them cheaply). */
export const LIMITS = { maxPacketSize: 1024, topicAliasMaximum: 100, connectTimeoutMs: 500 } as const;

/** One bad input and what the server must do about it. */
export interface BadInputCase {
  name: string;
  version: 4 | 5;
  /** Complete a CONNECT/CONNACK handshake first (default true); an object adds CONNECT fields. */
  handshake?: boolean | Partial<IConnectPacket>;
  /** Runs after the handshake, before the bad bytes (e.g. to start a QoS 2 exchange). */
  setup?: (raw: RawClient) => Promise<void>;
  /** The bad input: bytes, a hex string or a packet object, or several sent in order. */
  bytes: Sendable | Sendable[];
  /**
   * Milliseconds the server's clock moves on after the bytes are sent (e.g. to reach a timeout); needs
   * a server started with a FakeClock.
   */
  timeMs?: number;
  expect: {
    /** The packet the server answers with (matched field by field); none when absent. */
    packet?: Record<string, unknown>;
    /** The server closes the connection (true) or keeps serving it (false: a PINGREQ is answered). */
    closed: boolean;
    /** The counter that must go up by `by` (default 1), for these labels (default: any). */
    counted: { name: string; labels?: Labels; by?: number };
    /** More checks once the bystander has caught up, on everything it has received. */
    delivered?: (seen: Seen) => void;
  };
}

/** Messages a client received. */
export type Seen = ReturnType<typeof collect>;

/** A server for bad input, its bystander, and the messages the bystander received on `#`. */
export interface BadInputServer {
  srv: TestServer;
  bystander: MqttClient;
  /** Everything published on the server (the bystander subscribes to `#`). */
  seen: Seen;
  /** Runs one table case. */
  run(c: BadInputCase): Promise<void>;
  /** Proves the bystander still works: it publishes and receives its own message. */
  bystanderWorks(): Promise<void>;
  close(): Promise<void>;
}

/** The counter's current value: the labelled series, or the sum over all labels. */
function counter(srv: TestServer, name: string, labels?: Labels): number {
  return labels ? srv.server.metrics.get(name, labels) : srv.server.metrics.total(name);
}

/**
 * Starts a server with {@link LIMITS} and connects the bystander (v5, subscribed to `#`); with `clock`,
 * the server's timers run on it and cases may move it ({@link BadInputCase.timeMs}).
 */
export async function startBadInputServer(options: { clock?: FakeClock } = {}): Promise<BadInputServer> {
  const { clock } = options;
  const srv = await startServer({ mqtt: { ...LIMITS } }, { clock });
  const bystander = await connectClient(srv.url(), { protocolVersion: 5, clientId: "bystander" });
  // Without this, Nagle's algorithm holds each check's PUBLISH behind the previous PUBACK (~40 ms).
  (bystander.stream as Socket).setNoDelay(true);
  await bystander.subscribeAsync("#", { qos: 1 });
  const seen = collect(bystander);
  let round = 0;

  async function bystanderWorks(): Promise<void> {
    const payload = `still here ${++round}`;
    await bystander.publishAsync("bystander/echo", payload, { qos: 1 });
    await waitFor(() => seen.some((m) => m.payload.toString() === payload), "the bystander's own message");
    expect(bystander.connected).toBe(true);
  }

  async function run(c: BadInputCase): Promise<void> {
    const port = srv.addresses.mqtt!;
    const accepted = counter(srv, "mqtt_connections_total");
    const raw =
      c.handshake === false
        ? await RawClient.open(port, c.version)
        : await RawClient.connected(port, c.version, typeof c.handshake === "object" ? c.handshake : {});
    try {
      await c.setup?.(raw);
      const { name, labels, by = 1 } = c.expect.counted;
      const before = counter(srv, name, labels);
      const received = raw.packets.length;
      for (const bytes of Array.isArray(c.bytes) ? c.bytes : [c.bytes]) raw.send(bytes);
      if (c.timeMs !== undefined) {
        if (!clock) throw new Error(`${c.name}: timeMs needs a server started with a FakeClock`);
        // The connection's timers are set when the server accepts it (keep-alive: at CONNECT).
        await waitFor(() => counter(srv, "mqtt_connections_total") > accepted, "the server to accept");
        clock.advance(c.timeMs);
      }
      if (c.expect.packet) expect(await raw.next()).toMatchObject(c.expect.packet);
      if (c.expect.closed) await raw.waitClosed();
      else await raw.ping();
      // Nothing else was sent: the expected answer (if any), and the PINGRESP when still open.
      expect(raw.packets.length - received).toBe((c.expect.packet ? 1 : 0) + (c.expect.closed ? 0 : 1));
      expect(raw.parseErrors).toEqual([]);
      expect(counter(srv, name, labels) - before).toBe(by);
      await bystanderWorks();
      c.expect.delivered?.(seen);
    } finally {
      raw.destroy();
    }
  }

  return {
    srv,
    bystander,
    seen,
    run,
    bystanderWorks,
    async close() {
      await bystander.endAsync();
      await srv.close();
    },
  };
}

/** `mqtt_protocol_errors_total` with this reason label. */
export function protocolError(reason: string): BadInputCase["expect"]["counted"] {
  return { name: "mqtt_protocol_errors_total", labels: { reason } };
}

/** A v5 DISCONNECT with this reason code. */
export function disconnect(reasonCode: number): Record<string, unknown> {
  return { cmd: "disconnect", reasonCode };
}
