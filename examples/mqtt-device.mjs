// An MQTT "device": a plain MQTT 5 client (MQTT.js) that knows nothing of Skein.
//
// What it shows:
// - a will: if the device vanishes, the server publishes `devices/<id>/status` = "offline" (retained);
// - a retained JSON reading with the MQTT 5 Content Type `application/json`, so the topic Skein
//   creates for it is a typed `json` topic (SDK apps read it as objects);
// - a plain number on a topic of its own (`sensors/<id>/temp`, decimal text), which SDK apps may
//   declare as a `double` topic beforehand (see sdk-app.mjs);
// - ending with DISCONNECT reason 0x04 (Disconnect with Will Message): the server publishes the will
//   just as it would for a lost connection.
//
// Run it:
//   npm run build && node examples/mqtt-device.mjs
//     starts an embedded server on free ports, plus a "monitor" MQTT client that prints what
//     subscribers of sensors/# and devices/# receive, the will included.
//   npm start                                   (in another terminal)
//   SKEIN_MQTT_URL=mqtt://127.0.0.1:1883 node examples/mqtt-device.mjs
//     publishes to that server (watch with: mosquitto_sub -t 'sensors/#' -t 'devices/#' -v).
//
// Settings (environment): DEVICE_ID (room1), READINGS (5), INTERVAL_MS (200), MONITOR (1 when embedded).
// It publishes READINGS readings and exits.
import mqtt from "mqtt";
import { sleep, useSkein, withTimeout } from "./lib/server.mjs";

const DEVICE_ID = process.env.DEVICE_ID ?? "room1";
const READINGS = Number(process.env.READINGS ?? 5);
const INTERVAL_MS = Number(process.env.INTERVAL_MS ?? 200);

const skein = await useSkein();
const monitorOn = (process.env.MONITOR ?? (skein.embedded ? "1" : "0")) === "1";
const statusTopic = `devices/${DEVICE_ID}/status`;

// Another client, standing for any subscriber: it prints what it receives and notices the will.
let monitor;
let willSeen;
if (monitorOn) {
  monitor = await mqtt.connectAsync(skein.mqttUrl, { protocolVersion: 5, reconnectPeriod: 0 });
  willSeen = new Promise((resolve) => {
    monitor.on("message", (topic, payload, packet) => {
      const { contentType, payloadFormatIndicator } = packet.properties ?? {};
      const format = contentType ?? (payloadFormatIndicator ? "UTF-8 text" : "bytes");
      console.log(`  monitor: ${topic} = ${payload.toString()} (${format})`);
      if (topic === statusTopic && payload.toString() === "offline") resolve();
    });
  });
  await monitor.subscribeAsync(["sensors/#", "devices/#"], { qos: 1 });
}

console.log(`device ${DEVICE_ID}: connecting to ${skein.mqttUrl}`);
const device = await mqtt.connectAsync(skein.mqttUrl, {
  protocolVersion: 5,
  clientId: `device-${DEVICE_ID}`,
  reconnectPeriod: 0,
  // Published by the server when this connection is lost (or ends with reason 0x04).
  will: {
    topic: statusTopic,
    payload: Buffer.from("offline"),
    qos: 1,
    retain: true,
    properties: { payloadFormatIndicator: true },
  },
});
// Payload Format Indicator 1: the payload is UTF-8, so the topic Skein creates is a `string` topic.
await device.publishAsync(statusTopic, "online", {
  qos: 1,
  retain: true,
  properties: { payloadFormatIndicator: true },
});

for (let i = 0; i < READINGS; i++) {
  const temp = 20 + i * 0.5;
  const reading = { seq: i + 1, temp, humidity: 40 + i, at: new Date().toISOString() };
  // A plain number: decimal text, no properties.
  await device.publishAsync(`sensors/${DEVICE_ID}/temp`, String(temp), { qos: 1 });
  // A retained JSON document: new subscribers get the latest one first.
  await device.publishAsync(`sensors/${DEVICE_ID}/reading`, JSON.stringify(reading), {
    qos: 1,
    retain: true,
    properties: { contentType: "application/json" },
  });
  console.log(`device ${DEVICE_ID}: published reading ${reading.seq}/${READINGS}: temp ${temp}`);
  if (i < READINGS - 1) await sleep(INTERVAL_MS);
}

// DISCONNECT 0x04 (Disconnect with Will Message) [MQTT-3.14.2.1]: the server publishes the will.
await device.endAsync(false, { reasonCode: 0x04 });
console.log(`device ${DEVICE_ID}: disconnected with reason 0x04, so the server publishes the will`);

if (monitor) {
  await withTimeout(willSeen, 5000, "the will");
  console.log(`will received: ${statusTopic} = offline`);
  await monitor.endAsync();
}
await skein.close();
