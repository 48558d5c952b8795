/**
 * Integration test helpers: a real server (port 0) with its SDK door, SDK sessions that are closed
 * after each test, and collectors for value streams.
 */
import type { ServerDependencies, SkeinConfigInput } from "../../server/src/index.js";
import { type TestServer, startServer } from "../../server/test/helpers.js";
import {
  type ConnectOptions,
  type Session,
  SkeinError,
  type ValueStreamCallbacks,
  connect,
} from "../src/index.js";

export { connectClient, waitFor, roundTrip, collect } from "../../server/test/helpers.js";
export { FakeClock } from "../../server/test/fake-clock.js";

/** A server and the SDK sessions a test opened. */
export interface SdkFixture {
  server: TestServer;
  /** The SDK door's URL. */
  url: string;
  /** Opens a session (closed at teardown). Reconnection is quick by default. */
  connect(options?: ConnectOptions): Promise<Session>;
  close(): Promise<void>;
}

/**
 * Starts a server and returns the fixture; call `close()` in `afterEach`. `deps` injects e.g. a
 * FakeClock for the server's timers (request timeouts, the reconnection timeout).
 */
export async function startSdkServer(
  config: SkeinConfigInput = {},
  deps: ServerDependencies = {},
): Promise<SdkFixture> {
  const server = await startServer(config, deps);
  const url = `ws://127.0.0.1:${server.addresses.http}/sdk`;
  const sessions: Session[] = [];
  return {
    server,
    url,
    async connect(options = {}) {
      const session = await connect(url, {
        reconnect: { initialDelayMs: 10, maxDelayMs: 100, timeoutMs: 5000 },
        ...options,
      });
      sessions.push(session);
      return session;
    },
    async close() {
      await Promise.all(sessions.splice(0).map((s) => s.close()));
      await server.close();
    },
  };
}

/** One thing a value stream heard. */
export type StreamEvent<TValue> =
  | { kind: "subscribe"; path: string; type: string; value: TValue | undefined }
  | { kind: "value"; path: string; value: TValue; old: TValue | undefined }
  | { kind: "unsubscribe"; path: string; reason: string }
  | { kind: "error"; path: string; code: string };

/** Callbacks recording every event of a stream into `events`. */
export function recorder<TValue>(): ValueStreamCallbacks<TValue> & { events: StreamEvent<TValue>[] } {
  const events: StreamEvent<TValue>[] = [];
  return {
    events,
    onSubscribe: (path, spec, value) => events.push({ kind: "subscribe", path, type: spec.type, value }),
    onValue: (path, _spec, value, old) => events.push({ kind: "value", path, value, old }),
    onUnsubscribe: (path, reason) => events.push({ kind: "unsubscribe", path, reason }),
    onError: (error, path) => events.push({ kind: "error", path, code: error.code }),
  };
}

/** The error code a promise rejects with. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
  throw new Error("expected the promise to reject");
}

/** The error a promise rejects with. */
export async function errorOf(promise: Promise<unknown>): Promise<SkeinError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof SkeinError) return err;
    throw err;
  }
  throw new Error("expected the promise to reject");
}
