/**
 * Shared pieces of the MQTT.js integration suites: a per-test fixture that starts a real server and
 * tracks every client it opens (all closed when the test ends), and a raw MQTT client over TCP or
 * WebSocket for what MQTT.js will not do on purpose (withhold acks, send nothing, break a rule).
 */
import { connect as netConnect } from "node:net";
import type { Duplex } from "node:stream";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import mqttPacket, { type IConnackPacket, type IConnectPacket, type Packet } from "mqtt-packet";
import { test } from "vitest";
import { WebSocket, createWebSocketStream } from "ws";
import type { ServerDependencies, SkeinConfigInput } from "../../src/index.js";
import { collect, startServer, waitFor, type TestServer } from "../helpers.js";

/** The transports every suite runs over. */
export const TRANSPORTS = ["tcp", "ws"] as const;
export type Transport = (typeof TRANSPORTS)[number];
/** MQTT 3.1.1 (4) and 5.0 (5). */
export const VERSIONS = [4, 5] as const;
export type Version = (typeof VERSIONS)[number];

/** A message as {@link collect} records it. */
export type Received = ReturnType<typeof collect>[number];

/** Options for a session that outlives its connection, with the same client id each time. */
export function persistent(protocolVersion: Version, clientId: string, expirySec = 60): IClientOptions {
  return protocolVersion === 5
    ? { protocolVersion, clientId, clean: false, properties: { sessionExpiryInterval: expirySec } }
    : { protocolVersion, clientId, clean: false };
}

/** A connected MQTT.js client, with what it received and the errors it emitted since before CONNACK. */
export interface Connected {
  client: MqttClient;
  got: Received[];
  errors: Error[];
  /** The CONNACK the server sent. */
  connack: IConnackPacket;
}

/** One test's server and clients. */
export interface Fixture {
  readonly transport: Transport;
  /** The server started by {@link Fixture.start} in this test. */
  readonly srv: TestServer;
  /** Starts this test's server; `deps` injects e.g. a FakeClock. */
  start(config?: SkeinConfigInput, deps?: ServerDependencies): Promise<TestServer>;
  /** Connects an MQTT.js client (no reconnect), collecting messages from before CONNACK. */
  connect(options?: IClientOptions): Promise<Connected>;
  /** Opens a raw MQTT connection (no CONNECT sent yet). */
  raw(): Promise<RawClient>;
}

/**
 * `it` with a per-test {@link Fixture} `f` for `transport`: each test owns its server and clients, all
 * closed when it ends, so the suites can run their tests concurrently (`describe.concurrent`). A test
 * that needs time to pass starts its server with a FakeClock (`f.start(config, { clock })`) and moves it.
 */
export function mqttTest(transport: Transport) {
  return test.extend<{ f: Fixture }>({
    // eslint-disable-next-line no-empty-pattern -- vitest fixtures must destructure their context
    f: async ({}, use) => {
      const { fixture, dispose } = createFixture(transport);
      await use(fixture);
      await dispose();
    },
  });
}

function createFixture(transport: Transport): { fixture: Fixture; dispose(): Promise<void> } {
  let server: TestServer | undefined;
  const clients: MqttClient[] = [];
  const raws: RawClient[] = [];
  const fixture: Fixture = {
    transport,
    get srv(): TestServer {
      if (!server) throw new Error("no server started in this test");
      return server;
    },
    async start(config, deps) {
      server = await startServer(config, deps);
      return server;
    },
    async connect(options = {}) {
      const client = mqtt.connect(fixture.srv.url(transport), {
        reconnectPeriod: 0,
        connectTimeout: 5000,
        ...options,
      });
      clients.push(client);
      const got = collect(client);
      const errors: Error[] = [];
      client.on("error", (err) => errors.push(err));
      const connack = await new Promise<IConnackPacket>((resolve, reject) => {
        client.once("connect", resolve);
        client.once("error", reject);
        client.once("close", () => reject(new Error("connection closed before CONNACK")));
      });
      return { client, got, errors, connack };
    },
    async raw() {
      const r = await RawClient.open(fixture.srv.url(transport));
      raws.push(r);
      return r;
    },
  };
  const dispose = async (): Promise<void> => {
    for (const r of raws.splice(0)) r.destroy();
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
    await server?.close();
  };
  return { fixture, dispose };
}

type PacketOf<C extends Packet["cmd"]> = Extract<Packet, { cmd: C }>;

/**
 * A bare MQTT connection: writes whatever packets it is given and records every packet it receives,
 * acknowledging nothing by itself.
 */
export class RawClient {
  /** Every packet received, in order. */
  readonly received: Packet[] = [];
  closed = false;
  private readonly taken = new Set<Packet>();
  private parser = mqttPacket.parser({ protocolVersion: 4 });
  private protocolVersion = 4;

  private constructor(private readonly stream: Duplex) {
    this.useParser(4);
    stream.on("data", (chunk: Buffer) => this.parser.parse(chunk));
    stream.on("error", () => {});
    stream.on("end", () => (this.closed = true));
    stream.on("close", () => (this.closed = true));
  }

  /** Opens a connection to an `mqtt://` or `ws://` URL. */
  static async open(url: string): Promise<RawClient> {
    const u = new URL(url);
    if (u.protocol === "ws:") {
      const ws = new WebSocket(url, ["mqtt"]);
      await new Promise<void>((resolve, reject) => {
        ws.once("open", () => resolve());
        ws.once("error", reject);
      });
      return new RawClient(createWebSocketStream(ws));
    }
    const socket = netConnect(Number(u.port), u.hostname);
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    return new RawClient(socket);
  }

  /** Sends CONNECT and waits for CONNACK. */
  async connect(packet: Omit<IConnectPacket, "cmd">): Promise<IConnackPacket> {
    const version = packet.protocolVersion ?? 4;
    this.protocolVersion = version;
    this.useParser(version);
    this.send({
      cmd: "connect",
      protocolId: "MQTT",
      keepalive: 0,
      clean: true,
      ...packet,
      protocolVersion: version,
    });
    return this.next("connack");
  }

  /** Sends a hand-made CONNECT (one mqtt-packet refuses to generate) and waits for CONNACK. */
  async connectBytes(bytes: Buffer, protocolVersion: number): Promise<IConnackPacket> {
    this.protocolVersion = protocolVersion;
    this.useParser(protocolVersion);
    this.sendBytes(bytes);
    return this.next("connack");
  }

  /** Writes one packet. */
  send(packet: Packet): void {
    this.stream.write(mqttPacket.generate(packet, { protocolVersion: this.protocolVersion }));
  }

  /** Writes raw bytes. */
  sendBytes(bytes: Buffer): void {
    this.stream.write(bytes);
  }

  /** The received packets of one type (taken or not). */
  all<C extends Packet["cmd"]>(cmd: C): PacketOf<C>[] {
    return this.received.filter((p): p is PacketOf<C> => p.cmd === cmd);
  }

  /** Waits for the next packet of `cmd` not returned before. */
  async next<C extends Packet["cmd"]>(cmd: C, timeoutMs = 5000): Promise<PacketOf<C>> {
    let found: PacketOf<C> | undefined;
    await waitFor(
      () => {
        found = this.all(cmd).find((p) => !this.taken.has(p));
        return found !== undefined;
      },
      `${cmd} packet`,
      timeoutMs,
    );
    this.taken.add(found as Packet);
    return found as PacketOf<C>;
  }

  /**
   * A PINGREQ/PINGRESP round trip: the server has processed every packet sent before, and everything it
   * wrote to this connection before the PINGRESP has been received (a barrier, instead of a sleep, for
   * proving that something did NOT happen).
   */
  async ping(): Promise<void> {
    this.send({ cmd: "pingreq" });
    await this.next("pingresp");
  }

  /** Waits until the server has closed the connection. */
  async waitClosed(timeoutMs = 5000): Promise<void> {
    await waitFor(() => this.closed, "server to close the connection", timeoutMs);
  }

  /** Drops the connection without DISCONNECT. */
  destroy(): void {
    this.stream.destroy();
  }

  private useParser(version: number): void {
    this.parser.removeAllListeners();
    this.parser = mqttPacket.parser({ protocolVersion: version });
    this.parser.on("packet", (p: Packet) => this.received.push(p));
    this.parser.on("error", () => {});
  }
}
