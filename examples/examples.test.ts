/**
 * Runs every example as a user would (`node examples/<name>.mjs`, each with its own embedded server on
 * free ports) and checks that it ends by itself with exit code 0 and prints what it should. The dashboard
 * is loaded in headless Chromium (playwright-core, Debian's /usr/bin/chromium) while an MQTT.js client
 * publishes readings; a screenshot goes to /tmp/dashboard.png.
 *
 * The examples import the built packages (`@skein/server`, `@skein/sdk` -> packages/*\/dist): `npm test`
 * builds before vitest runs.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { type Browser, chromium } from "playwright-core";
import { afterAll, describe, expect, it } from "vitest";

const examplesDir = dirname(fileURLToPath(import.meta.url));
const CHROMIUM = "/usr/bin/chromium";
const RUN_TIMEOUT_MS = 30_000;

/** The examples' environment: never a server from the caller's environment. */
function exampleEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  delete env.SKEIN_MQTT_URL;
  delete env.SKEIN_SDK_URL;
  return env;
}

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `node examples/<file>` to its end (killed after RUN_TIMEOUT_MS). */
function runExample(file: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(examplesDir, file)], {
      env: exampleEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      timeout: RUN_TIMEOUT_MS,
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Runs an example and checks that it succeeded, printing every line of `expected`. */
async function expectExample(file: string, expected: (string | RegExp)[]): Promise<Run> {
  const run = await runExample(file);
  const report = `${file} (exit ${run.code ?? run.signal}):\n${run.stdout}\n${run.stderr}`;
  expect(run.code, report).toBe(0);
  const lines = run.stdout.split("\n");
  for (const line of expected) {
    const found = lines.some((l) => (typeof line === "string" ? l.includes(line) : line.test(l)));
    expect(found, `${file} should print ${String(line)}; it printed:\n${run.stdout}`).toBe(true);
  }
  return run;
}

describe("examples", () => {
  it("mqtt-device.mjs publishes its readings and its will reaches a subscriber", async () => {
    await expectExample("mqtt-device.mjs", [
      "device room1: published reading 5/5: temp 22",
      /monitor: sensors\/room1\/reading = \{"seq":5,.*\(application\/json\)/,
      "device room1: disconnected with reason 0x04",
      "will received: devices/room1/status = offline",
    ]);
  });

  it("timeseries.mjs appends from both doors and queries from both", async () => {
    await expectExample("timeseries.mjs", [
      "sdk: edited event 1 to 100.25 (edit event 3)",
      "stream: event 3 = 100.25 (edit of 1)",
      /mqtt subscriber: prices\/ACME = 101.75 \(seq 4, ts /,
      'mqtt device: "not a number" refused with reason 0x99',
      "sdk query fromLast(3): 3:100.25, 2:101, 4:101.75",
      "mqtt query q1 fromLast 3: 3:100.25 by pricer, 2:101 by pricer, 4:101.75 by ticker-1",
      "done",
    ]);
  });

  it("sdk-app.mjs averages the device's readings, writes under constraints and fetches pages", async () => {
    await expectExample("sdk-app.mjs", [
      "[device room1: published reading 5/5: temp 22]",
      "app: sensors/room1/reading #5: humidity 44%",
      "app: stats/room1/avg = 21.00 after 5 readings (count 5)",
      "app: average of 5 readings: 21.00",
      /app: stats\/room1\/history sent \d+ whole values and [1-9]\d* deltas/,
      "app: page 2: stats/room1/count (int64) 5n",
      'app: page 3: stats/room1/label (string) "Statistics of room1"',
      "app: done",
    ]);
  });

  it("jwt-auth.mjs connects with a JWT over both doors and sees a forged one refused", async () => {
    await expectExample("jwt-auth.mjs", [
      "mqtt: connected with the token",
      "sdk: $Principal=alice $Roles=sensors,dashboards site=north",
      "sdk: mqtt session alice-device: $Principal=alice",
      "mqtt: forged token refused with CONNACK 0x86",
      "done",
    ]);
  });

  describe("request-response", () => {
    it("rpc-sdk.mjs: an SDK requester calls SDK handlers", async () => {
      await expectExample("rpc-sdk.mjs", [
        'requester: convert {"celsius":21.5} -> {"celsius":21.5,"fahrenheit":70.7}',
        'requester: text/length "héllo wörld" -> 11n (bigint)',
        'requester: convert {"celsius":"hot"} failed with HANDLER_FAILED: celsius must be a number',
        "requester: nobody/here failed with NO_HANDLER",
        "requester: text/length as json failed with REQUEST_TYPE_MISMATCH",
        "done",
      ]);
    });

    it("rpc-mqtt-requester.mjs: an MQTT 5 client calls an SDK handler", async () => {
      await expectExample("rpc-mqtt-requester.mjs", [
        'mqtt requester: response to request 1: {"celsius":21.5,"fahrenheit":70.7}',
        "mqtt requester: response to request 2: error NO_HANDLER",
        "mqtt requester: response to request 3: error HANDLER_FAILED (celsius must be a number)",
        "done",
      ]);
    });

    it("rpc-mqtt-responder.mjs: an SDK requester is answered by an MQTT 5 client", async () => {
      await expectExample("rpc-mqtt-responder.mjs", [
        'mqtt responder: $request/thermo (thermo/convert): {"celsius":21.5}',
        'sdk requester: response: {"celsius":21.5,"fahrenheit":70.7}',
        'sdk requester: response: {"error":"celsius must be a number"}',
        "sdk requester: thermo/calibrate: REQUEST_TIMEOUT",
        "done",
      ]);
    });
  });
});

// In CI the browser is installed by .ci/run: a missing one is a failure there, never a silent skip.
describe.skipIf(!existsSync(CHROMIUM) && !process.env.CI)("examples/dashboard", () => {
  let serve: ChildProcess | undefined;
  let browser: Browser | undefined;
  let client: mqtt.MqttClient | undefined;

  afterAll(async () => {
    await browser?.close();
    await client?.endAsync();
    if (serve && serve.exitCode === null) serve.kill("SIGKILL");
  });

  it("serve.mjs serves a page that shows live values of sensors/# published over MQTT", async () => {
    serve = spawn(process.execPath, [join(examplesDir, "dashboard/serve.mjs")], {
      env: exampleEnv(),
      stdio: ["ignore", "pipe", "inherit"],
    });
    const printed = await new Promise<{ pageUrl: string; mqttUrl: string }>((resolve, reject) => {
      let mqttUrl: string | undefined;
      const timer = setTimeout(() => reject(new Error("serve.mjs printed no URL")), 15_000);
      createInterface({ input: serve!.stdout! }).on("line", (line) => {
        mqttUrl ??= /^Skein: MQTT (\S+),/.exec(line)?.[1];
        const pageUrl = /^dashboard: (\S+)/.exec(line)?.[1];
        if (pageUrl && mqttUrl) {
          clearTimeout(timer);
          resolve({ pageUrl, mqttUrl });
        }
      });
      serve!.on("exit", (code) => reject(new Error(`serve.mjs exited with ${code}`)));
    });

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
    });
    const page = await browser.newPage({ viewport: { width: 1000, height: 520 } });
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(printed.pageUrl);
    await page.waitForFunction(
      () => document.getElementById("status")?.textContent === "connected",
      undefined,
      {
        timeout: 10_000,
      },
    );

    // A plain number (a binary topic, shown as text), a JSON document and a topic outside sensors/#.
    client = await mqtt.connectAsync(printed.mqttUrl, { protocolVersion: 5, reconnectPeriod: 0 });
    await client.publishAsync("sensors/lab/temp", "23.5", { qos: 1, retain: true });
    await client.publishAsync("sensors/lab/meta", JSON.stringify({ floor: 2, ok: true }), {
      qos: 1,
      retain: true,
      properties: { contentType: "application/json" },
    });
    await client.publishAsync("other/topic", "not shown", { qos: 1, retain: true });
    const cell = (path: string, column: string): Promise<string | null> =>
      page.locator(`tr[data-path="${path}"] td.${column}`).textContent({ timeout: 10_000 });
    await page.waitForFunction(
      () => document.querySelector('tr[data-path="sensors/lab/temp"] td.value')?.textContent === "23.5",
      undefined,
      { timeout: 10_000 },
    );
    expect(await cell("sensors/lab/temp", "type")).toBe("binary");
    expect(await cell("sensors/lab/meta", "value")).toBe('{"floor":2,"ok":true}');
    expect(await cell("sensors/lab/meta", "type")).toBe("json");

    // A new value replaces the old one in place.
    await client.publishAsync("sensors/lab/temp", "24", { qos: 1, retain: true });
    await page.waitForFunction(
      () => document.querySelector('tr[data-path="sensors/lab/temp"] td.value')?.textContent === "24",
      undefined,
      { timeout: 10_000 },
    );
    const paths = await page
      .locator("tbody tr")
      .evaluateAll((rows) => rows.map((r) => (r as HTMLElement).dataset.path));
    expect(paths).toEqual(["sensors/lab/meta", "sensors/lab/temp"]);
    expect(errors).toEqual([]);
    await page.screenshot({ path: "/tmp/dashboard.png" });

    // Ctrl-C (SIGINT) stops the page's server and the Skein server cleanly.
    const exited = new Promise<number | null>((resolve) => serve!.on("exit", (code) => resolve(code)));
    serve.kill("SIGINT");
    expect(await exited).toBe(0);
  }, 60_000);
});
