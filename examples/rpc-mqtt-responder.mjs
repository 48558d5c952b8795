// An SDK session sending requests that an MQTT 5 client answers.
//
// What it shows:
// - an MQTT 5 client (MQTT.js) becoming the request handler of the message path `thermo` by
//   subscribing to `$request/thermo`: requests to `thermo` and to paths below it (thermo/convert)
//   reach it as PUBLISHes to `$request/thermo` with a Response Topic, Correlation Data and the user
//   property `skein-path` naming the path the request was sent to;
// - the MQTT client answering by publishing to that Response Topic, with the same Correlation Data;
// - the SDK requester declaring the types (json -> json): the server checks the MQTT client's answer
//   against the requested response type (an answer that is not JSON would be REQUEST_TYPE_MISMATCH);
// - a request the MQTT client leaves unanswered ending with REQUEST_TIMEOUT after the requester's
//   timeout. (An MQTT responder has no error channel: it answers with an error document, or not at all.)
//
// Run it:
//   npm run build && node examples/rpc-mqtt-responder.mjs       (embedded server on free ports)
//   SKEIN_SDK_URL=ws://127.0.0.1:8080/sdk SKEIN_MQTT_URL=mqtt://127.0.0.1:1883 node examples/rpc-mqtt-responder.mjs
// It sends three requests and exits.
import { SkeinError, connect } from "@skein/sdk";
import mqtt from "mqtt";
import { useSkein } from "./lib/server.mjs";

const skein = await useSkein();

// The handler: an MQTT 5 client. Subscribing to $request/thermo registers it for `thermo` (no wildcards).
const responder = await mqtt.connectAsync(skein.mqttUrl, { protocolVersion: 5, reconnectPeriod: 0 });
responder.on("message", (topic, payload, packet) => {
  const { responseTopic, correlationData } = packet.properties ?? {};
  if (!responseTopic) return;
  const path = packet.properties?.userProperties?.["skein-path"];
  console.log(`mqtt responder: ${topic} (${path}): ${payload.toString()}`);
  if (path !== "thermo/convert") return; // not answered: the requester times out
  const request = JSON.parse(payload.toString());
  const answer =
    typeof request.celsius === "number"
      ? { celsius: request.celsius, fahrenheit: Math.round((request.celsius * 1.8 + 32) * 10) / 10 }
      : { error: "celsius must be a number" };
  responder.publish(responseTopic, JSON.stringify(answer), {
    qos: 1,
    properties: { correlationData, contentType: "application/json" },
  });
});
await responder.subscribeAsync("$request/thermo", { qos: 1 });

// The requester: an SDK session.
const session = await connect(skein.sdkUrl);
const json = { requestType: "json", responseType: "json", timeout: 5000 };
const converted = await session.messaging.sendRequest("thermo/convert", { celsius: 21.5 }, json);
console.log(`sdk requester: response: ${JSON.stringify(converted)}`);
const refused = await session.messaging.sendRequest("thermo/convert", { celsius: "hot" }, json);
console.log(`sdk requester: response: ${JSON.stringify(refused)}`);
try {
  await session.messaging.sendRequest("thermo/calibrate", { offset: 0.5 }, { ...json, timeout: 500 });
} catch (err) {
  if (!(err instanceof SkeinError)) throw err;
  console.log(`sdk requester: thermo/calibrate: ${err.code}: ${err.message}`);
}

await session.close();
await responder.endAsync();
await skein.close();
console.log("done");
