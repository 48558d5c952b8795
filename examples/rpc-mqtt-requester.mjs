// An MQTT 5 client calling a request handler of an SDK session, with plain MQTT 5 request-response.
//
// What it shows:
// - an SDK session handling requests on the message path `thermo/convert` (json -> json);
// - an MQTT 5 client (MQTT.js) sending a request: a PUBLISH to `$request/thermo/convert` carrying a
//   Response Topic and Correlation Data (and Content Type application/json, so the request is json);
// - the response arriving on the Response Topic with the same Correlation Data, like any MQTT 5
//   request-response (the requester subscribes to its response topic first);
// - failures arriving as an empty message with the user properties `skein-error` (the error code)
//   and `skein-error-message`: NO_HANDLER, HANDLER_FAILED.
//
// Run it:
//   npm run build && node examples/rpc-mqtt-requester.mjs       (embedded server on free ports)
//   SKEIN_SDK_URL=ws://127.0.0.1:8080/sdk SKEIN_MQTT_URL=mqtt://127.0.0.1:1883 node examples/rpc-mqtt-requester.mjs
// It sends three requests and exits.
import { connect } from "@skein/sdk";
import mqtt from "mqtt";
import { useSkein, withTimeout } from "./lib/server.mjs";

const skein = await useSkein();

// The handler: an SDK session.
const service = await connect(skein.sdkUrl);
await service.messaging.addRequestHandler(
  "thermo/convert",
  (request) => {
    if (typeof request?.celsius !== "number") throw new Error("celsius must be a number");
    const fahrenheit = Math.round((request.celsius * 1.8 + 32) * 10) / 10;
    return { celsius: request.celsius, fahrenheit };
  },
  { requestType: "json", responseType: "json" },
);

// The requester: any MQTT 5 client.
const client = await mqtt.connectAsync(skein.mqttUrl, { protocolVersion: 5, reconnectPeriod: 0 });
const responseTopic = `clients/${client.options.clientId}/responses`;
/** Requests waiting for their response, by correlation data. */
const waiting = new Map();
client.on("message", (topic, payload, packet) => {
  const key = packet.properties?.correlationData?.toString();
  const resolve = topic === responseTopic && waiting.get(key);
  if (!resolve) return;
  waiting.delete(key);
  const user = packet.properties?.userProperties ?? {};
  resolve(
    user["skein-error"] ? { error: user["skein-error"], message: user["skein-error-message"] } : { payload },
  );
});
await client.subscribeAsync(responseTopic, { qos: 1 });

let nextId = 1;
/** Publishes a request to `$request/<path>` and waits for the message with its correlation data. */
async function request(path, body) {
  const id = String(nextId++);
  const answered = new Promise((resolve) => waiting.set(id, resolve));
  await client.publishAsync(`$request/${path}`, JSON.stringify(body), {
    qos: 1,
    properties: { responseTopic, correlationData: Buffer.from(id), contentType: "application/json" },
  });
  const answer = await withTimeout(answered, 5000, `response to request ${id}`);
  if (answer.error) {
    console.log(`mqtt requester: response to request ${id}: error ${answer.error} (${answer.message})`);
  } else {
    console.log(`mqtt requester: response to request ${id}: ${answer.payload.toString()}`);
  }
}

await request("thermo/convert", { celsius: 21.5 });
await request("nobody/here", { celsius: 21.5 });
await request("thermo/convert", { celsius: "hot" });

await client.endAsync();
await service.close();
await skein.close();
console.log("done");
