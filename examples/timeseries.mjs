// A time series topic on both doors: SDK appends, edits and range queries; MQTT publishes that append
// events, MQTT subscribers that see each event's sequence and time, and an MQTT 5 range query through
// plain request-response.
//
// What it shows:
// - an SDK session adding a time series topic of doubles (`prices/ACME`) that keeps its last 1,000
//   events and gives a new subscriber its last 3;
// - `session.timeseries.append` and `edit`, answered with the event's sequence, timestamp and author
//   once the event is stored;
// - an SDK event stream receiving the subscription range, then each new event with its metadata;
// - an MQTT 5 client (MQTT.js) publishing `101.75` to `prices/ACME` (one more event), and an MQTT 5
//   subscriber receiving every event with the User Properties `seq` and `ts`;
// - range queries from the SDK (`rangeQuery().fromLast(3)`, the edit view) and from MQTT 5: a PUBLISH
//   to `$timeseries/query/prices/ACME` with a Response Topic, Correlation Data and the JSON query
//   `{"fromLast":3}`, answered on the Response Topic with the events as JSON.
//
// Run it:
//   npm run build && node examples/timeseries.mjs               (embedded server on free ports)
//   SKEIN_SDK_URL=ws://127.0.0.1:8080/sdk SKEIN_MQTT_URL=mqtt://127.0.0.1:1883 node examples/timeseries.mjs
// It prints what each side sees and exits.
import { connect } from "@skein/sdk";
import mqtt from "mqtt";
import { useSkein, withTimeout } from "./lib/server.mjs";

// The embedded server knows the principal `pricer` (the author of its events); others stay anonymous.
const skein = await useSkein({
  security: {
    principals: [{ name: "pricer", password: "pricer-password", roles: ["anonymous"] }],
    anonymous: { roles: ["anonymous"] },
  },
});
const path = "prices/ACME";

const session = await connect(skein.sdkUrl, { principal: "pricer", password: "pricer-password" });
await session.topics.add(path, {
  type: "time-series",
  properties: { eventType: "double", retainedRange: { count: 1000 }, subscriptionRange: 3 },
});

for (const price of [100, 100.5, 101]) {
  const { sequence, author } = await session.timeseries.append(path, "double", price);
  console.log(`sdk: appended ${price} as event ${sequence} by ${author}`);
}
const fix = await session.timeseries.edit(path, "double", 1, 100.25);
console.log(`sdk: edited event 1 to 100.25 (edit event ${fix.sequence})`);

// An event stream: the last 3 events first (the subscription range), then every new one.
let streamedMqttEvent;
const mqttEventStreamed = new Promise((resolve) => (streamedMqttEvent = resolve));
const viewer = await connect(skein.sdkUrl);
viewer.timeseries.addStream(`>${path}`, "double", {
  onValue: (_path, _spec, e) => {
    if (e.author === "ticker-1") streamedMqttEvent();
    console.log(
      `stream: event ${e.sequence} = ${e.value}${e.isEdit ? ` (edit of ${e.originalSequence})` : ""}`,
    );
  },
});
await viewer.select(`>${path}`);

// An MQTT 5 subscriber: each new event is a PUBLISH with User Properties seq and ts.
const subscriber = await mqtt.connectAsync(skein.mqttUrl, { protocolVersion: 5, reconnectPeriod: 0 });
const mqttEvent = new Promise((resolve) =>
  subscriber.on("message", (topic, payload, packet) => {
    if (topic !== path) return;
    const { seq, ts } = packet.properties?.userProperties ?? {};
    console.log(
      `mqtt subscriber: ${topic} = ${payload} (seq ${seq}, ts ${new Date(Number(ts)).toISOString()})`,
    );
    resolve();
  }),
);
await subscriber.subscribeAsync(path, { qos: 1 });

// An MQTT 5 device appends with a plain PUBLISH (QoS 1: PUBACK once the event is stored).
const device = await mqtt.connectAsync(skein.mqttUrl, {
  protocolVersion: 5,
  clientId: "ticker-1",
  reconnectPeriod: 0,
});
await device.publishAsync(path, "101.75", { qos: 1 });
console.log("mqtt device: published 101.75");
await withTimeout(mqttEvent, 5000, "the MQTT subscriber's event");
// A payload that is not a double is refused with PUBACK 0x99 (Payload format invalid).
const refused = await device.publishAsync(path, "not a number", { qos: 1 }).catch((err) => err);
console.log(`mqtt device: "not a number" refused with reason 0x${refused.code.toString(16)}`);

// Range queries from the SDK.
const last3 = await session.timeseries.rangeQuery().fromLast(3).selectFrom(path);
console.log(`sdk query fromLast(3): ${last3.events.map((e) => `${e.sequence}:${e.value}`).join(", ")}`);
const edits = await session.timeseries.rangeQuery().forEdits().selectFrom(path);
console.log(
  `sdk query forEdits(): ${edits.events.map((e) => `${e.sequence}:${e.value}${e.isEdit ? `(${e.originalSequence})` : ""}`).join(", ")}`,
);

// A range query from MQTT 5: request-response on $timeseries/query/<path>.
const responseTopic = `clients/${device.options.clientId}/answers`;
const answered = new Promise((resolve) =>
  device.on("message", (_t, payload, packet) => resolve({ payload, packet })),
);
await device.subscribeAsync(responseTopic, { qos: 1 });
await device.publishAsync(`$timeseries/query/${path}`, JSON.stringify({ fromLast: 3 }), {
  qos: 1,
  properties: { responseTopic, correlationData: Buffer.from("q1") },
});
const { payload, packet } = await withTimeout(answered, 5000, "the MQTT query's answer");
const result = JSON.parse(payload.toString());
console.log(
  `mqtt query ${packet.properties?.correlationData} fromLast 3: ${result.events.map((e) => `${e.sequence}:${e.value} by ${e.author}`).join(", ")}`,
);

await withTimeout(mqttEventStreamed, 5000, "the MQTT event on the SDK stream");
await device.endAsync();
await subscriber.endAsync();
await viewer.close();
await session.close();
await skein.close();
console.log("done");
