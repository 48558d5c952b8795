/**
 * The SDK in a real browser: headless Chromium (playwright-core, Debian's /usr/bin/chromium) loads a
 * page that imports the browser bundle (dist/skein-sdk.browser.js, built by `npm run build`), connects
 * to the SDK door with the browser's own WebSocket, adds a topic, selects it, streams values published
 * by an MQTT.js client of this test, and updates a topic an MQTT subscriber receives.
 *
 * Never skipped: without /usr/bin/chromium the suite fails, saying how to install it (`.ci/run` does),
 * so a green `npm test` always means the SDK ran in a browser.
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { MqttClient } from "mqtt";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type * as Sdk from "../src/index.js";
import { type SdkFixture, collect, connectClient, startSdkServer, waitFor } from "./helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const sdkDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const bundlePath = join(sdkDir, "dist", "skein-sdk.browser.js");
const MISSING_CHROMIUM =
  `${CHROMIUM} not found: the browser test needs Chromium. Install it with ` +
  "`apt-get install -y chromium` (.ci/run installs it), then run the tests again.";

/** What the page keeps on `window`. */
interface PageGlobals {
  skein: typeof Sdk;
  session: Sdk.Session;
  received: { path: string; value: unknown }[];
  hasGlobalWebSocket: boolean;
}

const PAGE = `<!doctype html><meta charset="utf-8"><title>skein sdk</title>
<script type="module">
  import * as skein from "/skein-sdk.browser.js";
  window.skein = skein;
  window.received = [];
  window.hasGlobalWebSocket = typeof WebSocket === "function";
  document.title = "ready";
</script>`;

function ensureBundle(): void {
  if (existsSync(bundlePath)) return;
  execFileSync("npx", ["tsc", "-b", sdkDir], { stdio: "inherit" });
  execFileSync("node", [join(sdkDir, "build-browser.mjs")], { stdio: "inherit" });
}

function serveStatic(): Promise<Server> {
  const http = createServer((req, res) => {
    if (req.url === "/") return res.writeHead(200, { "content-type": "text/html" }).end(PAGE);
    if (req.url === "/skein-sdk.browser.js" || req.url === "/skein-sdk.browser.js.map") {
      const file = join(sdkDir, "dist", req.url.slice(1));
      return res.writeHead(200, { "content-type": "text/javascript" }).end(readFileSync(file));
    }
    res.writeHead(404).end();
  });
  return new Promise((resolve) => http.listen(0, "127.0.0.1", () => resolve(http)));
}

describe("the SDK in Chromium", () => {
  let f: SdkFixture;
  let http: Server;
  let browser: Browser;
  let page: Page;
  let mqtt: MqttClient;

  beforeAll(async () => {
    // A missing browser fails the suite, never skips it silently.
    if (!existsSync(CHROMIUM)) throw new Error(MISSING_CHROMIUM);
    ensureBundle();
    f = await startSdkServer();
    http = await serveStatic();
    mqtt = await connectClient(f.server.url(), { protocolVersion: 5 });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
    });
    page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`http://127.0.0.1:${(http.address() as AddressInfo).port}/`);
    await page.waitForFunction(() => document.title === "ready", undefined, { timeout: 10_000 });
    expect(errors).toEqual([]);
  }, 60_000);

  afterAll(async () => {
    await page?.evaluate(() => (window as unknown as PageGlobals).session?.close());
    await browser?.close();
    await mqtt?.endAsync();
    if (http) await new Promise((resolve) => http.close(resolve));
    await f?.close();
  });

  it("connects with the browser's WebSocket, streams MQTT publishes, and updates for MQTT subscribers", async () => {
    const sdkUrl = f.url;
    const setup = await page.evaluate(async (url) => {
      const w = window as unknown as PageGlobals;
      const session = await w.skein.connect(url);
      w.session = session;
      const added = await session.topics.add("browser/temp", { type: "double" });
      await session.topics.add("browser/status", { type: "json" });
      await session.select(">browser/temp");
      session.addStream(">browser//", "double", {
        onValue: (path, _spec, value) => w.received.push({ path, value }),
      });
      return { sessionId: session.sessionId, added, hasGlobalWebSocket: w.hasGlobalWebSocket };
    }, sdkUrl);
    expect(setup.sessionId).toMatch(/.+/);
    expect(setup.added).toEqual({ created: true });
    expect(setup.hasGlobalWebSocket).toBe(true);

    // MQTT -> browser.
    for (const v of ["20.5", "21", "-3.25"]) await mqtt.publishAsync("browser/temp", v, { qos: 1 });
    await page.waitForFunction(() => (window as unknown as PageGlobals).received.length >= 3, undefined, {
      timeout: 10_000,
    });
    const received = await page.evaluate(() => (window as unknown as PageGlobals).received);
    expect(received).toEqual([
      { path: "browser/temp", value: 20.5 },
      { path: "browser/temp", value: 21 },
      { path: "browser/temp", value: -3.25 },
    ]);

    // Browser -> MQTT.
    const got = collect(mqtt);
    await mqtt.subscribeAsync("browser/status", { qos: 1 });
    await page.evaluate(async () => {
      const w = window as unknown as PageGlobals;
      await w.session.set("browser/status", "json", { ok: true, from: "chromium" });
    });
    await waitFor(() => got.length === 1, "the browser's update over MQTT", 10_000);
    expect(JSON.parse(got[0]!.payload.toString("utf8"))).toEqual({ ok: true, from: "chromium" });
    expect(got[0]!.packet.properties?.contentType).toBe("application/json");

    // Errors arrive as SkeinError with a code, in the browser too.
    const code = await page.evaluate(async () => {
      const w = window as unknown as PageGlobals;
      try {
        await w.session.set("browser/status", "string", "not json");
        return "no error";
      } catch (err) {
        return `${err instanceof w.skein.SkeinError} ${(err as Sdk.SkeinError).code}`;
      }
    });
    expect(code).toBe("true TOPIC_TYPE_MISMATCH");
  });
});
