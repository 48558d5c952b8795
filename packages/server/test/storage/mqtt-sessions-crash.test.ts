/**
 * Crash test of MQTT persistent sessions (issue 9 §3): the built `skein` CLI in a child process on a
 * temporary data directory (sqlite); QoS 1 and QoS 2 publishers of both MQTT versions write rising
 * numbers, one chain per topic, into persistent sessions (3.1.1 and 5) whose subscribers are offline;
 * the server is killed with SIGKILL after a seeded random number of acknowledgements; a server started
 * on the same directory then delivers every acknowledged message to each session (QoS 1 at least once,
 * QoS 2 exactly once, in order per topic), and nothing that was not acknowledged more than once. The
 * seed is printed; `SKEIN_TEST_SEED` repeats a run.
 *
 * QoS 2 publishers with kept sessions (3.1.1 and 5) that send again, after the restart, what they had in
 * flight (PUBREL where their PUBREC came, the PUBLISH with DUP otherwise, some of them after the server
 * committed and sent a PUBREC the publisher did not see) have every message delivered exactly once
 * [MQTT-4.3.3-9] [MQTT-4.4.0-1]. An MQTT 5 persistent session receiving QoS 2 messages when the server
 * is killed, acting as MQTT asks of a receiver (it keeps a packet id until PUBREL and hands on no
 * PUBLISH with a kept id again), hands on every acknowledged message once: the server never sends a
 * PUBLISH again after its PUBREL [MQTT-4.3.3-6], nor another message under a packet id the receiver
 * still keeps.
 *
 * Sessions whose clients were connected when the server was killed are disconnected at start-up
 * [MQTT-3.1.2-8]: their wills go out (after their Will Delay Interval), their expiry starts then, and
 * they are still there for a client that comes back.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import mqtt, { type IClientOptions, type MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { collect, connectClient, roundTrip, waitFor } from "../helpers.js";
import { RawClient } from "../raw-client.js";
import { type RunningCli, buildCli, killClis, startCli } from "../built-cli.js";
import { seeded, testSeed } from "../seeded.js";

let workDir: string;
let config: string;
let dirs = 0;
beforeAll(() => {
  buildCli();
  workDir = mkdtempSync(join(tmpdir(), "skein-mqtt-crash-"));
  // A long group commit widens the window in which an acknowledgement sent before its commit would be
  // caught by the kill.
  config = join(workDir, "skein.json");
  writeFileSync(config, JSON.stringify({ storage: { maxBatchDelayMs: 20 } }));
}, 120_000);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

const clients: MqttClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync(true).catch(() => undefined)));
  killClis();
});

/** Starts the CLI (sqlite) on `dataDir`. */
const start = (dataDir: string): Promise<RunningCli> =>
  startCli(["--config", config, "--data-dir", dataDir], workDir);

/** Connects an MQTT.js client that collects what it receives from before its CONNACK. */
async function resume(url: string, options: IClientOptions) {
  const client = mqtt.connect(url, { reconnectPeriod: 0, ...options });
  clients.push(client);
  const got = collect(client);
  const connack = await new Promise<{ sessionPresent: boolean }>((resolve, reject) => {
    client.once("connect", resolve);
    client.once("error", reject);
  });
  return { client, got, sessionPresent: connack.sessionPresent };
}

const seed = testSeed("mqtt-sessions-crash");

const SUBSCRIBERS: { clientId: string; options: IClientOptions }[] = [
  { clientId: "crash-sub-4", options: { protocolVersion: 4, clean: false } },
  {
    clientId: "crash-sub-5",
    options: { protocolVersion: 5, clean: false, properties: { sessionExpiryInterval: 3600 } },
  },
];

/** One publishing chain: its topic, QoS and publisher, and how far it got. */
interface Chain {
  readonly topic: string;
  readonly qos: 1 | 2;
  /** Highest number sent (-1: none). */
  sent: number;
  /** Highest number acknowledged (PUBACK; PUBCOMP for QoS 2, which follows the PUBREC). */
  acked: number;
}

describe("MQTT persistent sessions under SIGKILL (skein CLI, sqlite)", () => {
  for (const n of [0, 1, 2]) {
    it(`delivers every acknowledged QoS 1/2 message to offline sessions after a crash (seed ${seed}, kill ${n + 1})`, async () => {
      const random = seeded(seed + n);
      const dataDir = join(workDir, `data-${++dirs}`);
      const skein = await start(dataDir);
      for (const s of SUBSCRIBERS) {
        const sub = await connectClient(skein.mqttUrl, { clientId: s.clientId, ...s.options });
        await sub.subscribeAsync("crash/#", { qos: 2 });
        await sub.endAsync();
      }
      const v5 = await connectClient(skein.mqttUrl, { protocolVersion: 5 });
      const v4 = await connectClient(skein.mqttUrl, { protocolVersion: 4 });
      clients.push(v5, v4);
      for (const c of [v5, v4]) c.on("error", () => {});
      const chains: Chain[] = [];
      for (const qos of [1, 2] as const)
        for (let k = 0; k < 3; k++) chains.push({ topic: `crash/q${qos}/${k}`, qos, sent: -1, acked: -1 });
      // Well under mqtt.maxQueuedMessages (1,000): nothing is dropped for room.
      const killAfter = 60 + Math.floor(random() * 300);
      let acks = 0;
      let killed = false;
      const run = async (chain: Chain, publisher: MqttClient): Promise<void> => {
        for (let i = 0; !killed && i < 1000; i++) {
          chain.sent = i;
          await publisher.publishAsync(chain.topic, String(i), { qos: chain.qos });
          chain.acked = i;
          if (++acks >= killAfter && !killed) {
            killed = true;
            skein.child.kill("SIGKILL");
          }
        }
      };
      const done = Promise.allSettled(chains.map((chain, i) => run(chain, i % 2 === 0 ? v5 : v4)));
      await skein.exited;
      killed = true;
      v5.end(true);
      v4.end(true);
      await done;

      const again = await start(dataDir);
      for (const s of SUBSCRIBERS) {
        const { client: back, got } = await resume(again.mqttUrl, { clientId: s.clientId, ...s.options });
        const last = (topic: string): number =>
          got.reduce((max, m) => (m.topic === topic ? Math.max(max, Number(m.payload.toString())) : max), -1);
        await waitFor(
          () => chains.every((c) => last(c.topic) >= c.acked),
          `every acknowledged message for ${s.clientId}`,
          15_000,
        );
        await roundTrip(back);
        for (const chain of chains) {
          const values = got.filter((m) => m.topic === chain.topic).map((m) => Number(m.payload.toString()));
          const distinct = values.filter((v, i) => i === 0 || v !== values[i - 1]);
          const what = `${s.clientId} ${chain.topic} (acked ${chain.acked}, sent ${chain.sent})`;
          // Every acknowledged message, in order per topic, none made up.
          expect(distinct.slice(0, chain.acked + 1), what).toEqual(
            Array.from({ length: chain.acked + 1 }, (_, i) => i),
          );
          expect(Math.max(-1, ...values), what).toBeLessThanOrEqual(chain.sent);
          // QoS 2 exactly once; QoS 1 may repeat only a message resent after the crash, and nothing
          // unacknowledged twice.
          if (chain.qos === 2) expect(values, what).toEqual(distinct);
          for (const v of values)
            if (v > chain.acked) expect(values.filter((x) => x === v).length, what).toBe(1);
        }
      }
      again.child.kill("SIGTERM");
      await again.exited;
    }, 60_000);
  }

  it("ends the connections the crash cut at start-up: wills go out (delayed ones after their delay), sessions wait for their clients", async () => {
    const dataDir = join(workDir, `data-${++dirs}`);
    const skein = await start(dataDir);
    // A kept watcher, offline: the wills are queued for it.
    const watcher = { clientId: "crash-watcher", protocolVersion: 5, clean: false } as const;
    const watcherOptions = { ...watcher, properties: { sessionExpiryInterval: 3600 } };
    const w = await connectClient(skein.mqttUrl, watcherOptions);
    await w.subscribeAsync("will/#", { qos: 1 });
    await w.endAsync();
    const will = (topic: string, willDelayInterval?: number): IClientOptions["will"] => ({
      topic,
      payload: Buffer.from(topic),
      qos: 1,
      retain: false,
      ...(willDelayInterval !== undefined && { properties: { willDelayInterval } }),
    });
    const live: Record<string, IClientOptions> = {
      // 3.1.1: the will goes out when the connection ends, so at start-up.
      "live-4": { protocolVersion: 4, clean: false, will: will("will/live-4") },
      // 5: the will after its delay, counted from start-up; the session outlives it.
      "live-5": {
        protocolVersion: 5,
        clean: false,
        properties: { sessionExpiryInterval: 3600 },
        will: will("will/live-5", 1),
      },
      // 5: the session expires 1 s after start-up, and its will (delay longer than that) with it.
      "short-5": {
        protocolVersion: 5,
        clean: false,
        properties: { sessionExpiryInterval: 1 },
        will: will("will/short-5", 3600),
      },
    };
    for (const [clientId, options] of Object.entries(live)) {
      const c = await connectClient(skein.mqttUrl, { clientId, ...options });
      clients.push(c);
      c.on("error", () => {});
      await c.subscribeAsync("live/#", { qos: 1 });
    }
    // SUBACK does not wait for the disk; a PUBACK of a message these sessions receive waits for the
    // commit of their copies, so of everything written before them too.
    const before = await connectClient(skein.mqttUrl, { protocolVersion: 5 });
    clients.push(before);
    await before.publishAsync("live/before", "before the crash", { qos: 1 });
    skein.child.kill("SIGKILL");
    await skein.exited;
    for (const c of clients.splice(0)) c.end(true);

    const again = await start(dataDir);
    const pub = await connectClient(again.mqttUrl, { protocolVersion: 5 });
    clients.push(pub);
    await pub.publishAsync("live/after", "queued after the restart", { qos: 1 });
    const { got } = await resume(again.mqttUrl, watcherOptions);
    await waitFor(() => got.length >= 3, "the three wills", 15_000);
    expect(got.map((m) => m.topic).sort()).toEqual(["will/live-4", "will/live-5", "will/short-5"]);
    for (const clientId of ["live-4", "live-5"]) {
      const back = await resume(again.mqttUrl, { clientId, ...live[clientId] });
      expect(back.sessionPresent, clientId).toBe(true);
      const payloads = (): string[] => back.got.map((m) => m.payload.toString());
      await waitFor(() => payloads().includes("queued after the restart"), `the message for ${clientId}`);
      // (The message before the crash comes again only if its PUBACK was lost with the server.)
      expect(payloads().filter((p) => p !== "before the crash")).toEqual(["queued after the restart"]);
    }
    // Its will came with its end.
    const short = await resume(again.mqttUrl, { clientId: "short-5", ...live["short-5"] });
    expect(short.sessionPresent).toBe(false);
    again.child.kill("SIGTERM");
    await again.exited;
  }, 60_000);

  it(`delivers exactly once what QoS 2 publishers with kept sessions send again after a crash [MQTT-4.3.3-9] (seed ${seed})`, async () => {
    const random = seeded(seed + 100);
    const dataDir = join(workDir, `data-${++dirs}`);
    const skein = await start(dataDir);
    for (const s of SUBSCRIBERS) {
      const sub = await connectClient(skein.mqttUrl, { clientId: s.clientId, ...s.options });
      await sub.subscribeAsync("resend/#", { qos: 2 });
      await sub.endAsync();
    }
    const publishers = ([4, 5] as const).map((version) => ({
      version,
      topic: `resend/v${version}`,
      connect: {
        clientId: `resend-pub-${version}`,
        clean: false,
        ...(version === 5 && { properties: { sessionExpiryInterval: 3600 } }),
      },
      /** In flight, by packet id: the number sent, and whether its PUBREC came (PUBREL sent). */
      inflight: new Map<number, { n: number; released: boolean }>(),
      next: 0,
    }));
    const port = (running: RunningCli): number => running.listening.mqtt as number;
    const killAfter = 40 + Math.floor(random() * 200);
    let completed = 0;
    let killed = false;
    const publish = (r: RawClient, topic: string, id: number, n: number, dup: boolean): void =>
      r.send({
        cmd: "publish",
        topic,
        payload: Buffer.from(String(n)),
        qos: 2,
        retain: false,
        messageId: id,
        dup,
      });
    /**
     * Answers PUBREC with PUBREL and counts PUBCOMPs until nothing is in flight. Under load (`load`),
     * keeps 8 in flight, and stops reading when the kill is decided: what the server sends after is
     * lost with the connection, as a client may lose it.
     */
    const drive = async (r: RawClient, p: (typeof publishers)[number], load: boolean): Promise<void> => {
      const fill = (): void => {
        while (load && !killed && p.inflight.size < 8) {
          const n = p.next++;
          const id = (n % 60_000) + 1;
          p.inflight.set(id, { n, released: false });
          publish(r, p.topic, id, n, false);
        }
      };
      fill();
      while (p.inflight.size > 0 && !(load && killed)) {
        const packet = await r.next(15_000);
        const entry = "messageId" in packet ? p.inflight.get(packet.messageId!) : undefined;
        if (entry === undefined) continue;
        if (packet.cmd === "pubrec") {
          entry.released = true;
          r.send({ cmd: "pubrel", messageId: packet.messageId });
        } else if (packet.cmd === "pubcomp") {
          p.inflight.delete(packet.messageId!);
          if (++completed >= killAfter && !killed) {
            killed = true;
            void killOnNextPacket();
          }
          fill();
        }
      }
    };
    /**
     * The publishers stop reading; the kill comes once the server sent each a PUBREC more (after its
     * next commit), which they will not have seen: they send those PUBLISHes again, the server must
     * know their packet ids and not deliver them twice.
     */
    const killOnNextPacket = async (): Promise<void> => {
      const seen = raws.map((r) => r.packets.length);
      const unseenPubrec = (): boolean =>
        raws.every((r, i) => r.packets.slice(seen[i]).some((p) => p.cmd === "pubrec"));
      await waitFor(unseenPubrec, "PUBRECs after the publishers stopped reading").catch(() => undefined);
      skein.child.kill("SIGKILL");
    };
    const raws = await Promise.all(
      publishers.map((p) => RawClient.connected(port(skein), p.version, p.connect)),
    );
    await Promise.allSettled(publishers.map((p, i) => drive(raws[i]!, p, true)));
    await skein.exited;
    for (const r of raws) r.destroy();

    // Back: each publisher sends again what it had in flight, in order: PUBREL where its PUBREC came,
    // the PUBLISH (DUP) otherwise [MQTT-4.4.0-1].
    const again = await start(dataDir);
    for (const p of publishers) {
      const r = await RawClient.connected(port(again), p.version, p.connect);
      expect(r.packets[0], p.topic).toMatchObject({ cmd: "connack", sessionPresent: true });
      for (const [id, { n, released }] of [...p.inflight].sort((a, b) => a[1].n - b[1].n))
        if (released) r.send({ cmd: "pubrel", messageId: id });
        else publish(r, p.topic, id, n, true);
      await drive(r, p, false);
      r.destroy();
    }
    for (const s of SUBSCRIBERS) {
      const { client: back, got } = await resume(again.mqttUrl, { clientId: s.clientId, ...s.options });
      const total = publishers.reduce((sum, p) => sum + p.next, 0);
      await waitFor(() => got.length >= total, `every message for ${s.clientId}`, 15_000);
      await roundTrip(back);
      for (const p of publishers) {
        const values = got.filter((m) => m.topic === p.topic).map((m) => Number(m.payload.toString()));
        // Every message sent, each once, in order.
        expect(values, `${s.clientId} ${p.topic}`).toEqual(Array.from({ length: p.next }, (_, i) => i));
      }
    }
    again.child.kill("SIGTERM");
    await again.exited;
  }, 60_000);

  it(`delivers a QoS 2 message once to a subscriber receiving when the server is killed [MQTT-4.3.3-6] (seed ${seed})`, async () => {
    const random = seeded(seed + 200);
    const dataDir = join(workDir, `data-${++dirs}`);
    const skein = await start(dataDir);
    const port = (running: RunningCli): number => running.listening.mqtt as number;
    const connect = {
      clientId: "receiver-5",
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    } as const;
    let receiver = await RawClient.connected(port(skein), 5, connect);
    receiver.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "dq/#", qos: 2 }] });
    expect(await receiver.next()).toMatchObject({ cmd: "suback" });
    receiver.destroy();
    // A queue on disk for it while it is away, then more while it takes them.
    const pub = await connectClient(skein.mqttUrl, { protocolVersion: 5 });
    clients.push(pub);
    pub.on("error", () => {});
    const topics = ["dq/0", "dq/1", "dq/2", "dq/3"];
    const next = topics.map(() => 0);
    const acked = topics.map(() => -1);
    let killed = false;
    const load = async (k: number, until: () => boolean): Promise<void> => {
      for (let i = 0; !killed && !until() && i < 10_000; i++) {
        const n = next[k]!;
        next[k] = n + 1;
        await pub.publishAsync(topics[k]!, String(n), { qos: 2 });
        acked[k] = n;
      }
    };
    await Promise.all(topics.map((_, k) => load(k, () => next[k]! >= 50)));

    // The receiver, as MQTT 5 asks of one (method B): it hands a message on when its PUBLISH comes,
    // keeps its packet id until PUBREL, and hands on no PUBLISH with a kept id again [MQTT-4.3.3-9].
    const kept = new Set<number>();
    const handed: string[] = [];
    const killAfter = 20 + Math.floor(random() * 300);
    let completed = 0;
    const receive = async (r: RawClient, more: () => boolean): Promise<void> => {
      while (more()) {
        const packet = await r.next(15_000);
        if (packet.cmd === "publish") {
          const id = packet.messageId!;
          if (!kept.has(id)) {
            kept.add(id);
            handed.push(`${packet.topic}=${packet.payload.toString()}`);
          }
          r.send({ cmd: "pubrec", messageId: id });
        } else if (packet.cmd === "pubrel") {
          kept.delete(packet.messageId!);
          r.send({ cmd: "pubcomp", messageId: packet.messageId });
          if (++completed >= killAfter && !killed) {
            killed = true;
            skein.child.kill("SIGKILL");
          }
        }
      }
    };
    receiver = await RawClient.connected(port(skein), 5, connect);
    const loads = topics.map((_, k) => load(k, () => false));
    await receive(receiver, () => !killed).catch(() => undefined);
    await skein.exited;
    killed = true;
    pub.end(true);
    await Promise.allSettled(loads);
    receiver.destroy();

    const again = await start(dataDir);
    receiver = await RawClient.connected(port(again), 5, connect);
    expect(receiver.packets[0]).toMatchObject({ cmd: "connack", sessionPresent: true });
    const all = (): boolean =>
      kept.size === 0 && topics.every((t, k) => acked[k]! < 0 || handed.includes(`${t}=${acked[k]}`));
    await receive(receiver, () => !all());
    // Whatever the server still had to send came before this PINGRESP.
    receiver.send({ cmd: "pingreq" });
    await receive(receiver, () => receiver.packets.at(-1)?.cmd !== "pingresp");
    for (const [k, t] of topics.entries()) {
      const values = handed.filter((h) => h.startsWith(`${t}=`)).map((h) => Number(h.slice(t.length + 1)));
      // Each once; every acknowledged one.
      expect(new Set(values).size, `${t}: ${values.join(",")}`).toBe(values.length);
      for (let n = 0; n <= acked[k]!; n++) expect(values, t).toContain(n);
    }
    again.child.kill("SIGTERM");
    await again.exited;
  }, 60_000);
});
