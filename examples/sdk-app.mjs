// An SDK application working on what an MQTT device publishes.
//
// What it shows:
// - connecting with the typed SDK (@skein/sdk) and following the session's state events;
// - creating typed topics (double, json, int64, string) before the device publishes, and what to do
//   when a topic exists with another specification (TOPIC_EXISTS_MISMATCH);
// - selecting topics with selectors and reacting with typed value streams: a `double` stream of the
//   device's plain-number temperature, a `json` stream checked with a zod schema;
// - computing the average of the readings and writing it to another topic under constraints: a session
//   lock (only the lock holder writes the statistics) and compare-and-set on an int64 counter;
// - an update stream that sends deltas instead of whole JSON documents;
// - fetching topics with their values, a page at a time.
//
// It runs examples/mqtt-device.mjs as a child process for the readings (READINGS of them), then exits.
//
// Run it:
//   npm run build && node examples/sdk-app.mjs        (embedded server on free ports)
//   npm start                                         (in another terminal)
//   SKEIN_SDK_URL=ws://127.0.0.1:8080/sdk SKEIN_MQTT_URL=mqtt://127.0.0.1:1883 node examples/sdk-app.mjs
//
// Settings (environment): DEVICE_ID (room1), READINGS (5).
import { spawn } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { SkeinError, connect, constraints } from "@skein/sdk";
import { z } from "zod";
import { useSkein, withTimeout } from "./lib/server.mjs";

const DEVICE_ID = process.env.DEVICE_ID ?? "room1";
const READINGS = Number(process.env.READINGS ?? 5);

const skein = await useSkein();
const session = await connect(skein.sdkUrl, { properties: { app: "sdk-app" } });
console.log(`app: connected to ${skein.sdkUrl} as session ${session.sessionId}`);
session.on("disconnected", ({ error }) => console.log(`app: connection lost (${error.code}), reconnecting`));
session.on("reconnected", ({ resumed }) => console.log(`app: reconnected, session resumed: ${resumed}`));

const sensors = `sensors/${DEVICE_ID}`;
const stats = `stats/${DEVICE_ID}`;

// 1. Typed topics. The device's topics are declared before it publishes, so that its plain number
//    lands in a `double` topic (an MQTT publish to a missing path would create a `binary` one).
await ensureTopic(`${sensors}/temp`, { type: "double" });
await ensureTopic(`${sensors}/reading`, { type: "json" });
await session.topics.add(`${stats}/avg`, { type: "double" });
await session.topics.add(`${stats}/count`, { type: "int64" });
await session.topics.add(`${stats}/history`, { type: "json" });
try {
  // Add-and-set, only when the topic does not exist yet.
  await session.topics.addAndSet(`${stats}/label`, { type: "string" }, `Statistics of ${DEVICE_ID}`, {
    constraint: constraints.noTopic(),
  });
} catch (err) {
  if (!(err instanceof SkeinError && err.code === "CONSTRAINT_NO_TOPIC")) throw err;
  console.log(`app: ${stats}/label exists already (CONSTRAINT_NO_TOPIC), left as it is`);
}

// 2. Only the holder of this lock writes the statistics (a second copy of the app would not get it).
const lock = await session.acquireLock(`stats-writer/${DEVICE_ID}`);
if (!lock.acquired) throw new Error("another session writes these statistics");

// The counter counts readings across runs: compare-and-set from the value it has now.
const current = await session.fetch(`>${stats}/count`, { withValues: true });
let count = current.topics[0]?.type === "int64" ? current.topics[0].value : undefined;

// 3. Select the device's topics and react with typed streams.
const temps = [];
const history = session.createUpdateStream(`${stats}/history`, "json");
let writes = Promise.resolve();
let resolveAll;
const allReceived = new Promise((resolve) => (resolveAll = resolve));

await session.select(`>${sensors}//`);
session.addStream(`>${sensors}/temp`, "double", {
  onValue: (path, _spec, temp) => {
    temps.push(temp);
    const avg = temps.reduce((a, b) => a + b, 0) / temps.length;
    // Writes are chained so that they happen in the order of the readings.
    writes = writes.then(() => writeStats(avg));
    if (temps.length === READINGS) resolveAll();
  },
});
const Reading = z.object({ seq: z.number().int(), temp: z.number(), humidity: z.number() });
session.addStream(
  `>${sensors}/reading`,
  "json",
  {
    onValue: (path, _spec, reading) =>
      console.log(`app: ${path} #${reading.seq}: humidity ${reading.humidity}%`),
    onError: (error, path) => console.log(`app: ${path}: ${error.code}: ${error.message}`),
  },
  { schema: Reading },
);

async function writeStats(avg) {
  await session.set(`${stats}/avg`, "double", avg, { constraint: constraints.locked(lock) });
  const next = (count ?? 0n) + 1n;
  await session.set(`${stats}/count`, "int64", next, {
    constraint: count === undefined ? constraints.noValue() : constraints.valueEquals("int64", count),
  });
  count = next;
  await history.set({ device: DEVICE_ID, temps });
  console.log(`app: ${stats}/avg = ${avg.toFixed(2)} after ${temps.length} readings (count ${count})`);
}

// 4. The device publishes its readings.
await runDevice();
await withTimeout(allReceived, 10_000, `${READINGS} readings`);
await writes;
const avg = temps.reduce((a, b) => a + b, 0) / temps.length;
console.log(`app: average of ${temps.length} readings: ${avg.toFixed(2)}`);
const { sets, deltas } = history.stats;
console.log(`app: ${stats}/history sent ${sets} whole values and ${deltas} deltas`);

// 5. Fetch the topics of both branches (a set selector), two to a page, with their values.
const selector = `#>${sensors}//////>${stats}//`;
let after;
let page = 1;
do {
  const result = await session.fetch(selector, { withValues: true, first: 2, after });
  for (const topic of result.topics)
    console.log(`app: page ${page}: ${topic.path} (${topic.type}) ${show(topic.value)}`);
  after = result.hasMore ? result.topics.at(-1)?.path : undefined;
  page++;
} while (after);

await lock.release();
await session.close();
await skein.close();
console.log("app: done");

/** Adds a topic; one that exists with another specification (e.g. created by an earlier MQTT publish) is replaced. */
async function ensureTopic(path, spec) {
  try {
    await session.topics.add(path, spec);
  } catch (err) {
    if (!(err instanceof SkeinError && err.code === "TOPIC_EXISTS_MISMATCH")) throw err;
    const [existing] = (await session.fetch(`>${path}`)).topics;
    const was = `${existing?.type}, retention ${existing?.spec.properties?.retention}`;
    console.log(`app: ${path} exists with another specification (${was}); replacing it`);
    await session.topics.remove(`>${path}`);
    await session.topics.add(path, spec);
  }
}

/** Runs mqtt-device.mjs against the same server and waits for it to exit. */
function runDevice() {
  const script = fileURLToPath(new URL("./mqtt-device.mjs", import.meta.url));
  const child = spawn(process.execPath, [script], {
    env: {
      ...process.env,
      SKEIN_MQTT_URL: skein.mqttUrl,
      DEVICE_ID,
      READINGS: String(READINGS),
      INTERVAL_MS: "50",
      MONITOR: "0",
    },
    stdio: ["ignore", "pipe", "inherit"],
  });
  createInterface({ input: child.stdout }).on("line", (line) => console.log(`  [${line}]`));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`device exited with ${code}`))));
  });
}

function show(value) {
  if (value === undefined) return "(no value)";
  return typeof value === "bigint" ? `${value}n` : JSON.stringify(value);
}
