// @ts-check
/**
 * Server CPU per delivery against the subscribers of one topic (issue 11, "How cost grows"), Skein and
 * Mosquitto in the same run.
 *
 * The subscribers are idle MQTT 3.1.1 connections of the client processes (bench/scale/pool.mjs), all
 * subscribed to `scale/fan`; they only count the bytes they receive. At each step (cumulative
 * subscriber totals) the bench first reads the broker's CPU over an idle window of `seconds` (keep
 * alives, timers: its cost with that many connections and no traffic), then publishes QoS 0 messages
 * of 32 bytes to `scale/fan` from one connection at `deliveriesPerSec / subscribers` messages a second
 * for `seconds`, waits until the deliveries stop coming, and reads the broker's CPU again:
 *
 *   CPU µs per delivery = (CPU of the publish window - idle CPU for as long) / deliveries counted
 *
 * The delivery rate is the same at every step, so the per-delivery cost is measured at the same load
 * whether a message goes to 1,000 subscribers or to 19,000.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { startBroker } from "../lib/brokers.mjs";
import { ClientPool } from "./pool.mjs";
import { RawClient, cpuOf, paced, printTable, settle } from "./common.mjs";

const TOPIC = "scale/fan";

/**
 * @typedef {object} DeliveryRow
 * @property {number} subscribers
 * @property {number} messages
 * @property {number} deliveries counted by the subscribers
 * @property {number} expected messages x subscribers
 * @property {number} cpuSeconds of the publish window, idle CPU taken off
 * @property {number} idleCpuPerSec broker CPU (cores) with the connections idle
 * @property {number | null} usPerDelivery
 */

/**
 * @param {{ steps: number[], brokers: string[], clients: number, concurrency: number, seconds: number,
 *   deliveriesPerSec: number, startTimeout: number, skeinArgs: string[] }} o
 * @returns {Promise<Record<string, DeliveryRow[]>>}
 */
export async function runDelivery(o) {
  console.log(
    `CPU per delivery: subscribers of one topic (MQTT 3.1.1, QoS 0, 32-byte payloads), ` +
      `${o.deliveriesPerSec.toLocaleString("en")} deliveries/s for ${o.seconds} s per step`,
  );
  /** @type {Record<string, DeliveryRow[]>} */
  const results = {};
  for (const name of o.brokers) results[name] = await runBroker(name, o);
  printDelivery(results);
  return results;
}

/**
 * @param {string} name
 * @param {{ steps: number[], clients: number, concurrency: number, seconds: number, deliveriesPerSec: number,
 *   startTimeout: number, skeinArgs: string[] }} o
 * @returns {Promise<DeliveryRow[]>}
 */
async function runBroker(name, o) {
  const broker = await startBroker(
    name,
    /** @type {any} */ ({ startTimeout: o.startTimeout, skeinArgs: o.skeinArgs, nodelay: false }),
  );
  const port = /** @type {number} */ (broker.port);
  const pool = new ClientPool(o.clients);
  /** @type {DeliveryRow[]} */
  const rows = [];
  /** @type {RawClient | undefined} */
  let publisher;
  try {
    publisher = await RawClient.connect(port, `fan-pub-${name}`);
    const packet = publisher.encode({
      cmd: "publish",
      topic: TOPIC,
      payload: Buffer.alloc(32, 120),
      qos: 0,
      retain: false,
    });
    // A 3.1.1 subscriber receives the same bytes as were published (QoS 0, no properties).
    const size = packet.length;
    let held = 0;
    for (const total of o.steps) {
      if (total <= held) continue;
      const r = await pool.open(total - held, {
        port,
        prefix: `f${total}`,
        concurrency: o.concurrency,
        topic: TOPIC,
        version: 4,
      });
      await sleep(1000);
      held = await pool.count();
      if (r.failed > 0) console.log(`  ${name}: ${r.failed} connections failed (${r.firstError})`);

      const idle0 = cpuOf(broker.pid);
      const t0 = performance.now();
      await sleep(o.seconds * 1000);
      const idleCpuPerSec = (cpuOf(broker.pid) - idle0) / ((performance.now() - t0) / 1000);

      const bytes0 = await pool.received();
      const cpu0 = cpuOf(broker.pid);
      const t1 = performance.now();
      const pub = /** @type {RawClient} */ (publisher);
      const messages = await paced(o.deliveriesPerSec / held, o.seconds, (n) =>
        pub.write(n === 1 ? packet : Buffer.concat(Array(n).fill(packet))),
      );
      await pub.ping();
      const expected = messages * held;
      const bytes = await settle(() => pool.received(), bytes0 + expected * size, 10_000);
      const cpuSeconds = cpuOf(broker.pid) - cpu0 - idleCpuPerSec * ((performance.now() - t1) / 1000);
      const deliveries = Math.round((bytes - bytes0) / size);
      /** @type {DeliveryRow} */
      const row = {
        subscribers: held,
        messages,
        deliveries,
        expected,
        cpuSeconds,
        idleCpuPerSec,
        usPerDelivery: deliveries > 0 ? (cpuSeconds * 1e6) / deliveries : null,
      };
      rows.push(row);
      console.log(
        `  ${name}: ${held.toLocaleString("en")} subscribers, ${messages} messages, ` +
          `${deliveries.toLocaleString("en")} of ${expected.toLocaleString("en")} delivered, ` +
          `${row.usPerDelivery?.toFixed(2) ?? "-"} µs CPU per delivery (idle ${(idleCpuPerSec * 100).toFixed(1)}% of a core)`,
      );
    }
  } finally {
    publisher?.close();
    await pool.close();
    await broker.stop();
  }
  return rows;
}

/** @param {Record<string, DeliveryRow[]>} results */
export function printDelivery(results) {
  printTable(
    ["broker", "subscribers", "messages", "delivered", "CPU µs per delivery", "idle CPU"],
    Object.entries(results).flatMap(([n, rows]) =>
      rows.map((r) => [
        n,
        r.subscribers.toLocaleString("en"),
        String(r.messages),
        `${r.deliveries.toLocaleString("en")} of ${r.expected.toLocaleString("en")}`,
        r.usPerDelivery?.toFixed(2) ?? "-",
        `${(r.idleCpuPerSec * 100).toFixed(1)}%`,
      ]),
    ),
  );
}
