/**
 * The web console at /console in headless Chromium (playwright-core, Debian's /usr/bin/chromium), served
 * by the server itself: log in as an admin, watch the overview's charts, browse the topic tree and see
 * a value change after an MQTT.js publish, edit a value, see the time series page, run a request
 * against a handler an SDK session registered, see an MQTT session's subscriptions, close it and see it
 * gone, edit the security store; then a viewer (view_server, no update_topic nor modify_security) is
 * refused a topic edit and a security edit with the server's error, and a principal without view_server
 * sees no data at all.
 *
 * Screenshots of each page go to test-artifacts/console/ (git-ignored); docs/images/console-*.png are
 * copies of them. Without /usr/bin/chromium the suite fails, saying how to install it, as the SDK's
 * browser suite does.
 */
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { MqttClient } from "mqtt";
import { type Browser, type Page, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Session, connect } from "../../../sdk/src/index.js";
import { type TestServer, connectClient, startServer } from "../helpers.js";

const CHROMIUM = "/usr/bin/chromium";
const MISSING_CHROMIUM =
  `${CHROMIUM} not found: the console test needs Chromium. Install it with ` +
  "`apt-get install -y chromium` (.ci/run installs it), then run the tests again.";
const ROOT = fileURLToPath(new URL("../../../..", import.meta.url));
const ARTIFACTS = join(ROOT, "test-artifacts", "console");
const VENDOR = join(ROOT, "packages", "server", "console", "vendor", "skein-sdk.browser.js");
const WAIT = { timeout: 10_000 };

/** The part of `session.timeseries` (issue 9 §2) this test uses. */
interface TimeSeriesApi {
  append(path: string, type: "double", value: number): Promise<unknown>;
}

const ADMIN = { principal: "admin", password: "admin-secret" };
const VIEWER = { principal: "viewer", password: "viewer-secret" };
const NOBODY = { principal: "nobody", password: "nobody-secret" };

describe("the web console in Chromium", () => {
  let server: TestServer;
  let browser: Browser;
  let page: Page;
  let admin: Session;
  let mqtt: MqttClient;
  const pageErrors: string[] = [];

  const consoleUrl = (): string => `http://127.0.0.1:${server.addresses.http}/console/`;

  async function login(p: Page, who: { principal: string; password: string }): Promise<void> {
    await p.goto(consoleUrl());
    await p.fill("input[name=principal]", who.principal);
    await p.fill("input[name=password]", who.password);
    await p.click("button[type=submit]");
  }

  async function open(p: Page, id: string): Promise<void> {
    await p.click(`nav a[data-page=${id}]`);
    await p.waitForSelector(`main#page-${id}`, WAIT);
  }

  async function shot(p: Page, name: string): Promise<void> {
    await p.screenshot({ path: join(ARTIFACTS, `console-${name}.png`), fullPage: true });
  }

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(MISSING_CHROMIUM);
    if (!existsSync(VENDOR)) throw new Error(`${VENDOR} missing: run npm run build first`);
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await startServer({
      security: {
        principals: [
          { name: ADMIN.principal, password: ADMIN.password, roles: ["admin"] },
          { name: VIEWER.principal, password: VIEWER.password, roles: ["viewers"] },
          { name: NOBODY.principal, password: NOBODY.password, roles: ["nobodies"] },
        ],
        roles: [
          {
            name: "viewers",
            global: ["view_server", "view_session", "view_security"],
            paths: { "": ["select_topic", "read_topic"] },
          },
          { name: "nobodies", global: [], paths: { "": ["select_topic", "read_topic"] } },
        ],
        anonymous: false,
        failedLoginDelayMs: 0,
      },
    });
    const sdkUrl = `ws://127.0.0.1:${server.addresses.http}/sdk`;
    admin = await connect(sdkUrl, { ...ADMIN, reconnect: false });
    await admin.messaging.addRequestHandler("services/echo", (request) => ({ echo: request }), {
      requestType: "json",
      responseType: "json",
    });
    mqtt = await connectClient(server.url(), {
      protocolVersion: 5,
      clientId: "console-sensor",
      username: ADMIN.principal,
      password: ADMIN.password,
    });
    await mqtt.publishAsync("console/room1/temp", "21.5", {
      qos: 1,
      retain: true,
      properties: { payloadFormatIndicator: true },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking"],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("pageerror", (err) => pageErrors.push(err.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await mqtt?.endAsync();
    await admin?.close();
    await server?.close();
  });

  it("serves its files, and nothing outside its folder", async () => {
    const base = `http://127.0.0.1:${server.addresses.http}`;
    const index = await fetch(`${base}/console/`);
    expect(index.status).toBe(200);
    expect(index.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await fetch(`${base}/console/vendor/skein-sdk.browser.js`).then((r) => r.status)).toBe(200);
    expect(await fetch(`${base}/console/config.json`).then((r) => r.json())).toEqual({ sdkPath: "/sdk" });
    expect(await fetch(`${base}/console/../package.json`).then((r) => r.status)).toBe(404);
    expect(await fetch(`${base}/console/%2e%2e/package.json`).then((r) => r.status)).toBe(404);
    expect(await fetch(`${base}/console/nothing.js`).then((r) => r.status)).toBe(404);
    expect(await fetch(`${base}/console/`, { method: "POST" }).then((r) => r.status)).toBe(405);
    const bare = await fetch(`${base}/console`, { redirect: "manual" });
    expect([bare.status, bare.headers.get("location")]).toEqual([301, "/console/"]);
  });

  it("logs an admin in and charts the server's figures", async () => {
    await login(page, ADMIN);
    await page.waitForSelector("#fig-connections", WAIT);
    // Two readings make the first rate point; the charts draw on canvases.
    await page.waitForSelector("#chart-rates[data-points='2'] canvas", WAIT);
    // The admin's SDK session, the console's own and the MQTT client.
    await page.waitForFunction(
      () => Number(document.querySelector("#fig-connections")?.textContent) >= 3,
      undefined,
      WAIT,
    );
    expect(Number(await page.textContent("#fig-mqtt-connections"))).toBeGreaterThanOrEqual(1);
    await shot(page, "overview");
  });

  it("browses the tree, shows an MQTT publish live, and edits a value", async () => {
    await open(page, "topics");
    const value = "[data-path='console/room1/temp'] .value";
    await page.waitForSelector(`${value}:text-is("21.5")`, WAIT);
    expect(await page.textContent("[data-path='console/room1/temp'] .type")).toBe("string");
    await mqtt.publishAsync("console/room1/temp", "22.75", {
      qos: 1,
      retain: true,
      properties: { payloadFormatIndicator: true },
    });
    await page.waitForSelector(`${value}:text-is("22.75")`, WAIT);

    await page.click("[data-path='console/room1/temp']");
    await page.fill("#value-editor", "19.0");
    const received = new Promise<string>((resolve) =>
      mqtt.once("message", (_topic, payload) => resolve(payload.toString())),
    );
    await mqtt.subscribeAsync("console/room1/temp", { qos: 1, rh: 2 });
    await page.click("form button[type=submit]:text('Set value')");
    await page.waitForSelector("text=Value set.", WAIT);
    expect(await received).toBe("19.0");
    await page.waitForSelector(`${value}:text-is("19.0")`, WAIT);
    await shot(page, "topics");
  });

  it("shows the time series page: a chart that gains a point per append, when the SDK has time series", async () => {
    // `session.timeseries` (issue 9) comes from another branch; typed loosely here so that this file
    // compiles with or without it.
    const timeseries = (admin as unknown as { timeseries?: TimeSeriesApi }).timeseries;
    if (!timeseries) {
      await open(page, "timeseries");
      // This build's SDK has no session.timeseries: the page says so instead of failing.
      await page.waitForSelector("#timeseries-unavailable", WAIT);
      await shot(page, "timeseries");
      return;
    }
    await admin.topics.add("console/series", { type: "time-series", properties: { eventType: "double" } });
    await timeseries.append("console/series", "double", 1.5);
    await open(page, "timeseries");
    await page.waitForSelector("#chart-timeseries[data-points='1']", WAIT);
    await timeseries.append("console/series", "double", 2.5);
    await page.waitForSelector("#chart-timeseries[data-points='2']", WAIT);
    await page.click("form[aria-label='range query'] button[type=submit]");
    await page.waitForSelector("#range-result tbody tr:nth-child(2)", WAIT);
    await shot(page, "timeseries");
  });

  it("runs a request against a handler an SDK session registered, and shows a failure", async () => {
    await open(page, "requests");
    await page.fill("input[name=path]", "services/echo");
    await page.fill("textarea[name=body]", '{"n": 1}');
    await page.click("button[type=submit]");
    await page.waitForSelector("#answer", WAIT);
    expect(JSON.parse((await page.textContent("#answer")) ?? "")).toEqual({ echo: { n: 1 } });
    await shot(page, "requests");

    await page.fill("input[name=path]", "services/nobody-here");
    await page.click("button[type=submit]");
    await page.waitForSelector(".error[data-code=NO_HANDLER]", WAIT);
  });

  it("lists sessions of both doors with their subscriptions, closes the MQTT one and sees it gone", async () => {
    await mqtt.subscribeAsync({
      "console/room1/temp": { qos: 1, rh: 2 },
      "$share/workers/console/jobs/#": { qos: 0 },
    });
    await open(page, "sessions");
    const row = "tr[data-client-id=console-sensor]";
    await page.waitForSelector(row, WAIT);
    await page.waitForSelector("tr[data-principal=admin]", WAIT);
    await page.click(row);
    await page.waitForSelector("text=$ClientId", WAIT);
    // Its subscriptions (clients.getSubscriptions): filters with their QoS and share group.
    const temp = "[aria-label=subscriptions] tr[data-subscription='console/room1/temp']";
    const jobs = "[aria-label=subscriptions] tr[data-subscription='console/jobs/#']";
    await page.waitForSelector(temp, WAIT);
    expect(await page.textContent(`${temp} td`)).toBe("QoS 1");
    expect(await page.textContent(`${jobs} td`)).toBe("QoS 0, shared, group workers");
    await shot(page, "sessions");
    const closed = new Promise<void>((resolve) => mqtt.once("close", () => resolve()));
    await page.click("#close-session");
    await closed;
    await page.waitForSelector(row, { ...WAIT, state: "detached" });
  });

  it("shows and edits the security store as an admin", async () => {
    await open(page, "security");
    await page.waitForSelector("#principals tr[data-principal=viewer]", WAIT);
    await page.waitForSelector("#roles tr[data-role=viewers]", WAIT);
    await page.fill("#add-principal input[name=name]", "carol");
    await page.fill("#add-principal input[name=password]", "carol-secret");
    await page.fill("#add-principal input[name=roles]", "viewers");
    await page.click("#add-principal button[type=submit]");
    await page.waitForSelector("#principals tr[data-principal=carol]", WAIT);
    expect((await admin.security.get()).principals).toContainEqual({ name: "carol", roles: ["viewers"] });
    await shot(page, "security");
  });

  it("fits a phone-width screen", async () => {
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    try {
      await login(phone, ADMIN);
      await phone.waitForSelector("#chart-connections[data-points='2'] canvas", WAIT);
      // Nothing is wider than the screen: the page does not scroll sideways.
      expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
      await shot(phone, "phone");
    } finally {
      await phone.close();
    }
  });

  it("refuses a viewer's edits with the server's error", async () => {
    const viewer = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    try {
      await login(viewer, VIEWER);
      await viewer.waitForSelector("#fig-connections", WAIT);
      // A topic edit without update_topic on the path: the façade refuses it, the value stays.
      await open(viewer, "topics");
      const value = "[data-path='console/room1/temp'] .value";
      await viewer.waitForSelector(`${value}:text-is("19.0")`, WAIT);
      await viewer.click("[data-path='console/room1/temp']");
      await viewer.fill("#value-editor", "99.9");
      await viewer.click("form button[type=submit]:text('Set value')");
      await viewer.waitForSelector(".error[data-code=NOT_AUTHORIZED]", WAIT);
      expect(await viewer.textContent(".error[data-code=NOT_AUTHORIZED]")).toContain("update_topic");
      const [topic] = (await admin.fetch(">console/room1/temp", { withValues: true })).topics;
      expect(topic?.value).toBe("19.0");
      expect(await viewer.textContent(value)).toBe("19.0");

      await open(viewer, "security");
      await viewer.waitForSelector("#principals tr[data-principal=admin]", WAIT);
      await viewer.fill("#add-principal input[name=name]", "mallory");
      await viewer.fill("#add-principal input[name=password]", "mallory-secret");
      await viewer.click("#add-principal button[type=submit]");
      await viewer.waitForSelector(".error[data-code=NOT_AUTHORIZED]", WAIT);
      await shot(viewer, "refused");
      expect((await admin.security.get()).principals.map((p) => p.name)).not.toContain("mallory");
    } finally {
      await viewer.close();
    }
  });

  it("shows no data to a principal without view_server, and says why", async () => {
    const nobody = await browser.newPage();
    try {
      await login(nobody, NOBODY);
      await nobody.waitForSelector(".error[data-code=NOT_AUTHORIZED]", WAIT);
      expect(await nobody.textContent(".error")).toContain("view_server");
      expect(await nobody.$("nav")).toBeNull();

      await login(nobody, { principal: "admin", password: "wrong" });
      await nobody.waitForSelector(".error[data-code=NOT_AUTHENTICATED]", WAIT);
    } finally {
      await nobody.close();
    }
    expect(pageErrors).toEqual([]);
  });
});
