// @ts-check
// Start-up time of a server whose sqlite store keeps many MQTT persistent sessions with queued
// messages (issue 9: 10,000 sessions x 100 queued messages must start in seconds).
//
//   npm run build --silent && node bench/session-startup.mjs [--sessions 10000] [--messages 100]
//     [--runs 3] [--dir DIR] [--server packages/server/dist/index.js]
//
// Writes the data set straight through the storage engine (SqliteStorage: one session record, one
// subscription and `--messages` queued 64-byte QoS 1 messages per session) into a temporary data
// directory (or `--dir`, kept and reused when it holds a database already), then starts the server on
// it `--runs` times and prints how long `listen()` took (wall clock and CPU) and the RSS after it.
// `--server` names another build's index.js (its engine writes the data set), to compare with an
// earlier commit. Not part of npm test.
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { performance } from "node:perf_hooks";
import { pathToFileURL } from "node:url";

const args = process.argv.slice(2);
/**
 * @param {string} name
 * @param {string} fallback
 */
const arg = (name, fallback) => (args.includes(name) ? (args[args.indexOf(name) + 1] ?? fallback) : fallback);
const SESSIONS = Number(arg("--sessions", "10000"));
const MESSAGES = Number(arg("--messages", "100"));
const RUNS = Number(arg("--runs", "3"));
const serverModule = resolve(arg("--server", "packages/server/dist/index.js"));
const keptDir = args.includes("--dir") ? arg("--dir", "") : undefined;
const dataDir = keptDir ?? mkdtempSync(join(tmpdir(), "skein-bench-sessions-"));
const PAYLOAD = new Uint8Array(64).fill(42);
/** @param {number} n */
const fmt = (n) => Math.round(n).toLocaleString("en-US");

/** Writes the data set; returns the seconds it took. */
async function populate() {
  // The engine of the build under test (its schema version is the one the server expects).
  const { SqliteStorage } = /** @type {typeof import("../packages/server/dist/storage/sqlite-store.js")} */ (
    await import(new URL("./storage/sqlite-store.js", pathToFileURL(serverModule)).href)
  );
  const storage = SqliteStorage.open({ dataDir, maxBatchSize: 50_000, maxBatchDelayMs: 0 });
  const t0 = performance.now();
  for (let c = 0; c < SESSIONS; c++) {
    const clientId = `client-${c}`;
    void storage.putSession({
      clientId,
      protocolVersion: 5,
      expiryIntervalSec: 86_400,
      expiresAt: Date.now() + 86_400_000,
    });
    void storage.putSubscription({
      clientId,
      filter: `q/${c}/#`,
      qos: 1,
      noLocal: false,
      retainAsPublished: false,
      retainHandling: 0,
    });
    for (let m = 1; m <= MESSAGES; m++) {
      void storage.enqueueMessage({
        clientId,
        messageId: m,
        topic: `q/${c}/${m}`,
        payload: PAYLOAD,
        qos: 1,
        retain: false,
        state: "queued",
        dup: false,
      });
    }
    if (c % 100 === 99) await storage.flush();
  }
  await storage.close();
  return (performance.now() - t0) / 1000;
}

/** One start-up: createServer + listen(), then close. */
async function startOnce() {
  const { createServer } = /** @type {typeof import("../packages/server/dist/index.js")} */ (
    await import(pathToFileURL(serverModule).href)
  );
  const server = createServer({
    host: "127.0.0.1",
    logLevel: "silent",
    dataDir,
    storage: { engine: "sqlite" },
    mqtt: { port: 0, tlsPort: false, maxOfflineSessions: SESSIONS * 2 },
    http: { port: 0, tlsPort: false },
  });
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await server.listen();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const rss = process.memoryUsage().rss;
  await server.close();
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, rssMb: rss / 1e6 };
}

try {
  if (keptDir !== undefined && existsSync(join(dataDir, "skein.db")))
    console.log(`data set: ${dataDir} (kept)`);
  else {
    const s = await populate();
    console.log(
      `data set: ${fmt(SESSIONS)} sessions x ${fmt(MESSAGES)} queued messages written in ${s.toFixed(1)} s`,
    );
  }
  for (let i = 0; i < RUNS; i++) {
    const r = await startOnce();
    console.log(
      `start-up ${i + 1}: listen() ${fmt(r.ms)} ms (${fmt(r.cpuMs)} ms CPU), RSS after ${fmt(r.rssMb)} MB`,
    );
  }
} finally {
  if (keptDir === undefined) rmSync(dataDir, { recursive: true, force: true });
}
