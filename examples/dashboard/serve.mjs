// Serves the browser dashboard (index.html, app.js) and the SDK's browser bundle, next to a Skein server.
//
// What it shows: the SDK in a browser (the single-file ES module @skein/sdk/browser, no bundler needed)
// showing live values that MQTT clients publish.
//
// Run it:
//   npm run build && node examples/dashboard/serve.mjs
//     starts an embedded Skein server on free ports and the page's HTTP server, and prints the URL to
//     open and commands that publish readings; Ctrl-C stops both.
//   node examples/dashboard/serve.mjs --demo
//     also publishes a simulated reading every second over MQTT.
//   SKEIN_SDK_URL=ws://127.0.0.1:8080/sdk SKEIN_MQTT_URL=mqtt://127.0.0.1:1883 node examples/dashboard/serve.mjs
//     serves the page for a server started with `npm start`.
//
// Settings (environment): DASHBOARD_PORT (0: any free port), SKEIN_SDK_URL, SKEIN_MQTT_URL.
// Unlike the other examples it runs until stopped (SIGINT or SIGTERM).
import { readFile } from "node:fs/promises";
import { createServer } from "node:http";
import { fileURLToPath } from "node:url";
import mqtt from "mqtt";
import { useSkein } from "../lib/server.mjs";

const skein = await useSkein();
const bundle = fileURLToPath(import.meta.resolve("@skein/sdk/browser"));
const files = {
  "/": [new URL("./index.html", import.meta.url), "text/html; charset=utf-8"],
  "/index.html": [new URL("./index.html", import.meta.url), "text/html; charset=utf-8"],
  "/app.js": [new URL("./app.js", import.meta.url), "text/javascript; charset=utf-8"],
  "/skein-sdk.browser.js": [bundle, "text/javascript; charset=utf-8"],
  "/skein-sdk.browser.js.map": [`${bundle}.map`, "application/json"],
};

const http = createServer(async (req, res) => {
  const { pathname } = new URL(req.url ?? "/", "http://localhost");
  if (pathname === "/config.json") {
    res.writeHead(200, { "content-type": "application/json" });
    return res.end(JSON.stringify({ sdkUrl: skein.sdkUrl }));
  }
  const file = files[pathname];
  if (!file || req.method !== "GET") return res.writeHead(404).end("not found");
  try {
    res.writeHead(200, { "content-type": file[1], "cache-control": "no-cache" }).end(await readFile(file[0]));
  } catch (err) {
    res.writeHead(500).end(String(err));
  }
});
await new Promise((resolve) => http.listen(Number(process.env.DASHBOARD_PORT ?? 0), "127.0.0.1", resolve));
const pageUrl = `http://127.0.0.1:${http.address().port}/`;

const { port: mqttPort } = new URL(skein.mqttUrl);
console.log(`Skein: MQTT ${skein.mqttUrl}, SDK ${skein.sdkUrl}`);
console.log(`dashboard: ${pageUrl}`);
console.log("publish readings with, for example:");
console.log(`  mosquitto_pub -h 127.0.0.1 -p ${mqttPort} -t sensors/room1/temp -m 21.5 -r`);
console.log(`  SKEIN_MQTT_URL=${skein.mqttUrl} node examples/mqtt-device.mjs`);

let demo;
if (process.argv.includes("--demo")) {
  demo = await mqtt.connectAsync(skein.mqttUrl, { protocolVersion: 5, clientId: "dashboard-demo" });
  let i = 0;
  const timer = setInterval(() => {
    i++;
    const temp = (21 + 2 * Math.sin(i / 5)).toFixed(2);
    demo.publish("sensors/demo/temp", temp, { retain: true });
    demo.publish("sensors/demo/status", JSON.stringify({ seq: i, ok: true }), {
      retain: true,
      properties: { contentType: "application/json" },
    });
  }, 1000);
  demo.on("end", () => clearInterval(timer));
  console.log("demo: publishing sensors/demo/temp and sensors/demo/status every second");
}

async function stop() {
  await demo?.endAsync();
  http.closeAllConnections();
  await new Promise((resolve) => http.close(resolve));
  await skein.close();
  process.exit(0);
}
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
