// Shared by the examples: which Skein server to talk to.
//
// - With SKEIN_MQTT_URL and/or SKEIN_SDK_URL set (for a server started with `npm start`), that server;
//   an unset one defaults to what `npm start` listens on (mqtt://127.0.0.1:1883, ws://127.0.0.1:8080/sdk).
// - Otherwise an embedded server (`createServer` from @skein/server) on free ports of 127.0.0.1, with the
//   memory store, which `close()` stops. That is how CI runs the examples.
import { createServer } from "@skein/server";

/**
 * @param {object} [config] configuration merged into the embedded server's (e.g. a `security` section)
 * @returns {Promise<{ mqttUrl: string, sdkUrl: string, embedded: boolean, close(): Promise<void> }>}
 */
export async function useSkein(config = {}) {
  const { SKEIN_MQTT_URL, SKEIN_SDK_URL } = process.env;
  if (SKEIN_MQTT_URL || SKEIN_SDK_URL) {
    return {
      mqttUrl: SKEIN_MQTT_URL || "mqtt://127.0.0.1:1883",
      sdkUrl: SKEIN_SDK_URL || "ws://127.0.0.1:8080/sdk",
      embedded: false,
      close: async () => {},
    };
  }
  const server = createServer({
    host: "127.0.0.1",
    logLevel: "warn",
    mqtt: { port: 0, tlsPort: false },
    http: { port: 0, tlsPort: false },
    ...config,
  });
  const ports = await server.listen();
  return {
    mqttUrl: `mqtt://127.0.0.1:${ports.mqtt}`,
    sdkUrl: `ws://127.0.0.1:${ports.http}/sdk`,
    embedded: true,
    close: () => server.close(),
  };
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Rejects with `what` timed out after `ms`, unless `promise` settles first. */
export function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
