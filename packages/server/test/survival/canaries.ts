/**
 * Survival tests (issue 14 §4): a server, a canary MQTT session and a canary SDK session connected
 * before the offender, and a check run after each offence: the server is up, both canaries still get
 * their messages, and the process's resident memory stayed within a bound.
 */
import type { Socket } from "node:net";
import type { MqttClient } from "mqtt";
import { connect, type Session } from "@skein/sdk";
import { expect } from "vitest";
import type { ServerDependencies, SkeinConfigInput } from "../../src/index.js";
import { collect, connectClient, startServer, waitFor, type TestServer } from "../helpers.js";

const MiB = 1024 * 1024;
/** How far resident memory may grow over one test file's offences. */
export const RSS_BOUND_BYTES = 256 * MiB;

/** A server under attack and its two canaries. */
export interface SurvivalServer {
  srv: TestServer;
  /** The SDK door's URL. */
  sdkUrl: string;
  mqttCanary: MqttClient;
  sdkCanary: Session;
  /** The server is up and both canaries still get a fresh message; memory stayed bounded. */
  canariesAlive(): Promise<void>;
  /** A counter's value (sum over all labels without `labels`). */
  counter(name: string, labels?: Readonly<Record<string, string>>): number;
  close(): Promise<void>;
}

/** Starts a server and connects the canaries: an MQTT v5 client and an SDK session, both on `canary/#`. */
export async function startSurvivalServer(
  config: SkeinConfigInput = {},
  deps: ServerDependencies = {},
): Promise<SurvivalServer> {
  const srv = await startServer(config, deps);
  const sdkUrl = `ws://127.0.0.1:${srv.addresses.http}/sdk`;
  const rssAtStart = process.memoryUsage().rss;
  const mqttCanary = await connectClient(srv.url(), { protocolVersion: 5, clientId: "canary-mqtt" });
  (mqttCanary.stream as Socket).setNoDelay(true);
  await mqttCanary.subscribeAsync("canary/#", { qos: 1 });
  const mqttSeen = collect(mqttCanary);
  const sdkCanary = await connect(sdkUrl, { reconnect: false });
  const sdkSeen: string[] = [];
  await sdkCanary.select(">canary//");
  sdkCanary.addStream(">canary//", "binary", {
    onValue: (_path, _spec, value) => sdkSeen.push(Buffer.from(value).toString("utf8")),
  });
  let round = 0;

  return {
    srv,
    sdkUrl,
    mqttCanary,
    sdkCanary,
    counter: (name, labels) =>
      labels ? srv.server.metrics.get(name, labels) : srv.server.metrics.total(name),
    async canariesAlive() {
      const payload = `alive ${++round}`;
      await mqttCanary.publishAsync("canary/echo", payload, { qos: 1 });
      await waitFor(
        () => mqttSeen.some((m) => m.payload.toString() === payload),
        "the MQTT canary's message",
      );
      await waitFor(() => sdkSeen.includes(payload), "the SDK canary's message");
      expect(mqttCanary.connected).toBe(true);
      expect(process.memoryUsage().rss - rssAtStart).toBeLessThan(RSS_BOUND_BYTES);
    },
    async close() {
      await sdkCanary.close();
      await mqttCanary.endAsync();
      await srv.close();
    },
  };
}
