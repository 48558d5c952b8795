// @ts-check
/**
 * Broker CPU per publish against the number of distinct subscriptions it holds (issue 11, "How cost
 * grows"), Skein and Mosquitto in the same run.
 *
 * `connections` MQTT 3.1.1 connections of the bench process hold the subscriptions, many each
 * (100 filters per SUBSCRIBE), so few sockets are needed. Subscription k is one of four shapes, half
 * of them with wildcards:
 *
 *   d/<k>/t (exact)   d/<k>/+   d/<k>/#   +/<k>/x
 *
 * and its publish topic (d/<k>/t, d/<k>/v, d/<k>/v/w, z/<k>/x) matches that subscription and no other,
 * so every publish makes exactly one delivery whatever the number held: what grows is what the broker
 * searches. At each step (cumulative totals) the bench reads the broker's CPU over an idle window,
 * then publishes QoS 0 messages to topics of random held subscriptions at `publishesPerSec` for
 * `seconds`, and waits for the deliveries:
 *
 *   CPU µs per publish = (CPU of the publish window - idle CPU for as long) / publishes
 */
import { setTimeout as sleep } from "node:timers/promises";
import { startBroker } from "../lib/brokers.mjs";
import { RawClient, cpuOf, paced, printTable, settle, skeinConfigFile } from "./common.mjs";

/** @param {number} k */
const filterOf = (k) => [`d/${k}/t`, `d/${k}/+`, `d/${k}/#`, `+/${k}/x`][k % 4];
/** @param {number} k */
const topicOf = (k) => [`d/${k}/t`, `d/${k}/v`, `d/${k}/v/w`, `z/${k}/x`][k % 4];

/**
 * @typedef {object} SubscriptionRow
 * @property {number} subscriptions
 * @property {number} refused
 * @property {number} subscribesPerSec of the step
 * @property {number} rssMB broker RSS
 * @property {number} publishes
 * @property {number} delivered
 * @property {number | null} usPerPublish
 */

/**
 * @param {{ steps: number[], brokers: string[], connections: number, seconds: number,
 *   publishesPerSec: number, startTimeout: number, skeinArgs: string[] }} o
 * @returns {Promise<Record<string, SubscriptionRow[]>>}
 */
export async function runSubscriptions(o) {
  console.log(
    `CPU per publish against subscriptions held (${o.connections} connections; d/k/t, d/k/+, d/k/#, +/k/x; ` +
      `each publish matches one), ${o.publishesPerSec.toLocaleString("en")} publishes/s for ${o.seconds} s per step`,
  );
  /** @type {Record<string, SubscriptionRow[]>} */
  const results = {};
  for (const name of o.brokers) results[name] = await runBroker(name, o);
  printSubscriptions(results);
  return results;
}

/**
 * @param {string} name
 * @param {{ steps: number[], connections: number, seconds: number, publishesPerSec: number,
 *   startTimeout: number, skeinArgs: string[] }} o
 * @returns {Promise<SubscriptionRow[]>}
 */
async function runBroker(name, o) {
  const most = Math.max(...o.steps);
  // Skein's default bound of subscriptions per session (1,000) is raised to what the step needs.
  const config = skeinConfigFile({
    mqtt: { maxSubscriptionsPerSession: Math.ceil(most / o.connections) + 10, maxQueuedMessages: 1_000_000 },
  });
  const broker = await startBroker(
    name,
    /** @type {any} */ ({
      startTimeout: o.startTimeout,
      skeinDefaults: true,
      skeinArgs: ["--config", config, ...o.skeinArgs],
      nodelay: false,
    }),
  );
  const port = /** @type {number} */ (broker.port);
  /** @type {RawClient[]} */
  const subs = [];
  /** @type {SubscriptionRow[]} */
  const rows = [];
  /** @type {RawClient | undefined} */
  let publisher;
  try {
    for (let c = 0; c < o.connections; c++) subs.push(await RawClient.connect(port, `subs-${name}-${c}`));
    publisher = await RawClient.connect(port, `subs-pub-${name}`);
    const pub = publisher;
    let held = 0;
    let refused = 0;
    for (const total of o.steps) {
      if (total <= held) continue;
      const t0 = performance.now();
      const refusedNow = await Promise.all(
        subs.map((s, c) => {
          /** @type {string[]} */
          const filters = [];
          for (
            let k = held + ((c - (held % o.connections) + o.connections) % o.connections);
            k < total;
            k += o.connections
          )
            filters.push(filterOf(k));
          return s.subscribeMany(filters);
        }),
      );
      const subscribesPerSec = (total - held) / ((performance.now() - t0) / 1000);
      refused += refusedNow.reduce((a, b) => a + b, 0);
      held = total;
      await sleep(1000);

      const idle0 = cpuOf(broker.pid);
      const ti = performance.now();
      await sleep(o.seconds * 1000);
      const idleCpuPerSec = (cpuOf(broker.pid) - idle0) / ((performance.now() - ti) / 1000);

      const got0 = subs.reduce((a, s) => a + s.publishes, 0);
      const cpu0 = cpuOf(broker.pid);
      const t1 = performance.now();
      const payload = Buffer.alloc(32, 120);
      const publishes = await paced(o.publishesPerSec, o.seconds, (n) => {
        const packets = [];
        for (let i = 0; i < n; i++) {
          const k = Math.floor(Math.random() * held);
          packets.push(pub.encode({ cmd: "publish", topic: topicOf(k), payload, qos: 0, retain: false }));
        }
        return pub.write(Buffer.concat(packets));
      });
      await pub.ping();
      const got = () => subs.reduce((a, s) => a + s.publishes, 0) - got0;
      const delivered = await settle(got, publishes, 10_000);
      const cpuSeconds = cpuOf(broker.pid) - cpu0 - idleCpuPerSec * ((performance.now() - t1) / 1000);
      /** @type {SubscriptionRow} */
      const row = {
        subscriptions: held,
        refused,
        subscribesPerSec,
        rssMB: broker.rss() / 1048576,
        publishes,
        delivered,
        usPerPublish: publishes > 0 ? (cpuSeconds * 1e6) / publishes : null,
      };
      rows.push(row);
      console.log(
        `  ${name}: ${held.toLocaleString("en")} subscriptions (${refused} refused, ` +
          `${Math.round(subscribesPerSec).toLocaleString("en")}/s), RSS ${row.rssMB.toFixed(0)} MB, ` +
          `${publishes} publishes, ${delivered} delivered, ${row.usPerPublish?.toFixed(2) ?? "-"} µs CPU per publish`,
      );
    }
  } finally {
    publisher?.close();
    for (const s of subs) s.close();
    await broker.stop();
  }
  return rows;
}

/** @param {Record<string, SubscriptionRow[]>} results */
export function printSubscriptions(results) {
  printTable(
    ["broker", "subscriptions", "subscribes/s", "RSS", "publishes", "delivered", "CPU µs per publish"],
    Object.entries(results).flatMap(([n, rows]) =>
      rows.map((r) => [
        n,
        r.subscriptions.toLocaleString("en"),
        Math.round(r.subscribesPerSec).toLocaleString("en"),
        `${r.rssMB.toFixed(0)} MB`,
        r.publishes.toLocaleString("en"),
        r.delivered.toLocaleString("en"),
        r.usPerPublish?.toFixed(2) ?? "-",
      ]),
    ),
  );
}
