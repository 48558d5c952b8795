// @ts-check
// Security on vs off (issue 14 §5), in one run, the same load shape as the storage scenario (Node
// clients in the bench process, 64 awaited in flight, the server pinned to one core):
// - "off": Skein's default on a loopback bind with no principals: anonymous sessions hold the
//   `anonymous` role (every path permission at the root and register_handler);
// - "on": 1,000 principals (scrypt hashes), 100 roles, 1,000 path permissions (10 per role), anonymous
//   access off, every client authenticated (MQTT user name + password, SDK principal + password);
// and for each: MQTT fan-in (QoS 1 publishes to one subscriber of bench/in/#, PUBACKs/s), MQTT fan-out
// (QoS 1 publishes to bench/out, QoS 0 subscribers, deliveries/s) and SDK request-response
// (sendRequest to an addRequestHandler handler, responses/s). The two configurations take turns per
// case. Then CONNECT rate (16 connecting at a time, CONNECT..CONNACK then DISCONNECT): Skein with
// scrypt authentication, Skein anonymous, Mosquitto with a password file (mosquitto_passwd: PBKDF2,
// far cheaper than scrypt by design) and Mosquitto anonymous.
import { randomBytes, scryptSync } from "node:crypto";
import mqtt from "mqtt";
import { mosquittoUnavailable, startMosquittoWith, startSkeinWith } from "../lib/anchors.mjs";
import { int, loadAverage, over, rate, serverCpu, target } from "../lib/load.mjs";

/** @typedef {import("../lib/args.mjs").MqttOptions} MqttOptions */
/** @typedef {import("../lib/types.js").Figures} Figures */

const PRINCIPALS = 1000;
const ROLES = 100;
const PATHS_PER_ROLE = 10;
const PASSWORD = "bench-password";

/** The "on" configuration: principals share one scrypt hash (computed once; each login verifies it). */
function securedConfig() {
  const salt = randomBytes(16);
  const key = scryptSync(PASSWORD, salt, 32, { N: 2 ** 14, r: 8, p: 1 });
  const passwordHash = `scrypt$14$8$1$${salt.toString("base64")}$${key.toString("base64")}`;
  const roles = Array.from({ length: ROLES }, (_, r) => {
    /** @type {Record<string, string[]>} */
    const paths = {
      bench: ["select_topic", "read_topic", "update_topic", "modify_topic", "send_to_message_handler"],
    };
    for (let k = 1; k < PATHS_PER_ROLE; k++) paths[`private/r${r}/${k}`] = ["select_topic", "read_topic"];
    return { name: `role-${r}`, global: ["register_handler"], paths };
  });
  const principals = Array.from({ length: PRINCIPALS }, (_, i) => ({
    name: `user-${i}`,
    passwordHash,
    roles: [`role-${i % ROLES}`],
  }));
  return {
    security: {
      principals,
      roles,
      anonymous: false,
      failedLoginDelayMs: 0,
      /** @type {number | undefined} */ verifiedLoginTtlMs: undefined,
    },
  };
}

/** The next principal's credentials (MQTT), or none when security is off. */
let nextUser = 0;
/** @param {boolean} secured */
const creds = (secured) =>
  secured ? { username: `user-${nextUser++ % PRINCIPALS}`, password: PASSWORD } : {};

/**
 * `n` MQTT clients, 16 connecting at a time.
 * @param {string} url
 * @param {number} n
 * @param {boolean} secured
 * @param {string} prefix
 */
async function clients(url, n, secured, prefix) {
  /** @type {import("mqtt").MqttClient[]} */
  const out = [];
  for (let i = 0; i < n; i += 16) {
    const batch = Array.from({ length: Math.min(16, n - i) }, (_, k) =>
      mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: `${prefix}-${i + k}`, ...creds(secured) }),
    );
    out.push(...(await Promise.all(batch)));
  }
  return out;
}

/** @param {import("mqtt").MqttClient[]} cs */
const endAll = (cs) => Promise.all(cs.map((c) => c.endAsync().catch(() => {})));

/**
 * Fan-in, fan-out and request-response on one Skein.
 * @param {boolean} secured
 * @param {"fanin" | "fanout" | "rr"} kind
 * @param {MqttOptions} opts
 * @returns {Promise<Figures>}
 */
async function runCase(secured, kind, opts) {
  const server = await startSkeinWith({
    store: "memory",
    config: secured ? securedConfig() : {},
    startTimeout: opts.startTimeout,
  });
  const url = `mqtt://127.0.0.1:${server.port}`;
  const cpu = serverCpu(server);
  /** @type {import("mqtt").MqttClient[]} */
  const open = [];
  const payload = Buffer.alloc(opts.payload, 7);
  try {
    if (kind === "fanin") {
      const [sub] = await clients(url, 1, secured, "in-sub");
      open.push(sub);
      let received = 0;
      sub.on("message", () => received++);
      await sub.subscribeAsync("bench/in/#", { qos: 0 });
      const n = Math.min(opts.publishers, 64);
      const pubs = await clients(url, n, secured, "in-pub");
      open.push(...pubs);
      let at = 0;
      const r = await rate((i) => pubs[i % n].publishAsync(`bench/in/${i % n}`, payload, { qos: 1 }), {
        seconds: opts.duration,
        warmupS: opts.warmup,
        onStart: () => ((at = received), cpu.start()),
      });
      return {
        msgsPerSec: r.perSec,
        deliveredPerSec: (received - at) / r.elapsedS,
        cpuUsPerMsg: cpu.usPer(r.done),
        errors: r.firstError,
      };
    }
    if (kind === "fanout") {
      const subs = await clients(url, Math.min(opts.subscribers, 100), secured, "out-sub");
      open.push(...subs);
      let received = 0;
      for (const s of subs) s.on("message", () => received++);
      await Promise.all(subs.map((s) => s.subscribeAsync("bench/out", { qos: 0 })));
      const [pub] = await clients(url, 1, secured, "out-pub");
      open.push(pub);
      let at = 0;
      const r = await rate(() => pub.publishAsync("bench/out", payload, { qos: 1 }), {
        seconds: opts.duration,
        warmupS: opts.warmup,
        onStart: () => ((at = received), cpu.start()),
      });
      return {
        msgsPerSec: (received - at) / r.elapsedS,
        publishedPerSec: r.perSec,
        cpuUsPerMsg: cpu.usPer(received - at),
        errors: r.firstError,
      };
    }
    const { connect } = await import("@skein/sdk");
    const sdkCreds = () => {
      const c = creds(secured);
      return c.username ? { principal: c.username, password: c.password } : {};
    };
    const sessionOpts = { reconnect: /** @type {false} */ (false), heartbeatMs: 0, requestTimeoutMs: 30_000 };
    const url2 = /** @type {string} */ (server.sdkUrl);
    const responder = await connect(url2, { ...sessionOpts, ...sdkCreds() });
    const requester = await connect(url2, { ...sessionOpts, ...sdkCreds() });
    try {
      await responder.messaging.addRequestHandler("bench/rr", (req) => req, {
        requestType: "binary",
        responseType: "binary",
      });
      const body = new Uint8Array(opts.payload).fill(7);
      const r = await rate(
        () =>
          requester.messaging.sendRequest("bench/rr", body, {
            requestType: "binary",
            responseType: "binary",
          }),
        { seconds: opts.duration, warmupS: opts.warmup, onStart: () => cpu.start() },
      );
      return { msgsPerSec: r.perSec, cpuUsPerMsg: cpu.usPer(r.done), errors: r.firstError };
    } finally {
      await requester.close().catch(() => {});
      await responder.close().catch(() => {});
    }
  } finally {
    await endAll(open);
    await server.stop();
  }
}

/**
 * CONNECT..CONNACK then DISCONNECT, 16 at a time, for the window: connections/s.
 * @param {{ port?: number, stop: () => Promise<void>, cpuSeconds: () => number }} server
 * @param {(() => { username?: string, password?: string })} who
 * @param {MqttOptions} opts
 */
async function connectRate(server, who, opts) {
  const url = `mqtt://127.0.0.1:${server.port}`;
  const cpu = serverCpu(server);
  try {
    const r = await rate(
      async (i) => {
        const c = await mqtt.connectAsync(url, { reconnectPeriod: 0, clientId: `conn-${i}`, ...who() });
        await c.endAsync();
      },
      { seconds: opts.duration, warmupS: Math.min(opts.warmup, 1), inFlight: 16, onStart: () => cpu.start() },
    );
    return {
      connectsPerSec: r.perSec,
      cpuMsPerConnect: (cpu.usPer(r.done) ?? NaN) / 1000,
      errors: r.firstError,
    };
  } finally {
    await server.stop();
  }
}

/**
 * @param {string} what
 * @param {() => Promise<Figures>} fn
 * @returns {Promise<Figures>}
 */
async function part(what, fn) {
  try {
    return await fn();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.log(`  ${what}: failed: ${message}`);
    return { error: message };
  }
}

/**
 * The run with the median msgsPerSec (failed runs last).
 * @param {Figures[]} runs
 */
function median(runs) {
  const sorted = [...runs].sort((a, b) => (a.msgsPerSec ?? -1) - (b.msgsPerSec ?? -1));
  const ok = sorted.filter((x) => x.msgsPerSec != null);
  return ok.length ? ok[Math.floor((ok.length - 1) / 2)] : sorted[0];
}

/** @type {import("../lib/types.js").OwnScenario} */
export default {
  name: "security",
  suite: "own",
  options: ["duration", "warmup", "repeat", "publishers", "subscribers", "payload", "start-timeout"],
  title: (opts) =>
    `security on (${PRINCIPALS} principals, ${ROLES} roles, ${ROLES * PATHS_PER_ROLE} path permissions, all authenticated) vs off; CONNECT rate with scrypt (${opts.duration} s windows)`,
  async run(opts) {
    /** @type {Figures} */
    const r = { loadAverageBefore: loadAverage(), cases: {} };
    for (const kind of /** @type {const} */ (["fanin", "fanout", "rr"])) {
      // Off and on take turns (--repeat rounds); the median round of each is reported.
      /** @type {Figures[]} */
      const offs = [];
      /** @type {Figures[]} */
      const ons = [];
      for (let k = 0; k < opts.repeat; k++) {
        offs.push(await part(`${kind} off`, () => runCase(false, kind, opts)));
        ons.push(await part(`${kind} on`, () => runCase(true, kind, opts)));
      }
      const off = median(offs);
      const on = median(ons);
      r.cases[kind] = {
        off,
        on,
        ratio: over(on.msgsPerSec, off.msgsPerSec),
        cpuRatio: over(on.cpuUsPerMsg, off.cpuUsPerMsg),
      };
      if (opts.repeat > 1) Object.assign(r.cases[kind], { offRuns: offs, onRuns: ons });
      const unit = kind === "fanout" ? "deliveries/s" : kind === "rr" ? "responses/s" : "PUBACKs/s";
      console.log(
        `  ${kind.padEnd(7)} off ${int(off.msgsPerSec).padStart(9)} ${unit}   on ${int(on.msgsPerSec).padStart(9)} ${unit}   on/off ${r.cases[kind].ratio?.toFixed(2) ?? "-"}; server CPU ${off.cpuUsPerMsg?.toFixed(1)} vs ${on.cpuUsPerMsg?.toFixed(1)} µs each` +
          `${(off.errors ?? on.errors) ? ` (errors: ${off.errors ?? on.errors})` : ""}`,
      );
    }
    const whyNoMosquitto = mosquittoUnavailable();
    if (whyNoMosquitto) console.log(`  skipping mosquitto: ${whyNoMosquitto}`);
    const users = /** @type {[string, string][]} */ (
      Array.from({ length: 10 }, (_, i) => [`user-${i}`, PASSWORD])
    );
    let u = 0;
    const named = () => ({ username: `user-${u++ % 10}`, password: PASSWORD });
    const start = opts.startTimeout;
    r.connect = {
      // Every login checked with scrypt (the memory of verified logins off): a fleet's first logins.
      skeinScrypt: await part("connect skein scrypt", async () => {
        const config = securedConfig();
        config.security.verifiedLoginTtlMs = 0;
        return connectRate(
          await startSkeinWith({ store: "memory", config, startTimeout: start }),
          named,
          opts,
        );
      }),
      // The default: a principal's successful check is remembered, so reconnects skip scrypt.
      skeinRemembered: await part("connect skein remembered", async () =>
        connectRate(
          await startSkeinWith({ store: "memory", config: securedConfig(), startTimeout: start }),
          named,
          opts,
        ),
      ),
      skeinAnonymous: await part("connect skein anonymous", async () =>
        connectRate(await startSkeinWith({ store: "memory", startTimeout: start }), () => ({}), opts),
      ),
      mosquittoPasswd: whyNoMosquitto
        ? { skipped: whyNoMosquitto }
        : await part("connect mosquitto password file", async () =>
            connectRate(await startMosquittoWith({ startTimeout: start, users }), named, opts),
          ),
      mosquittoAnonymous: whyNoMosquitto
        ? { skipped: whyNoMosquitto }
        : await part("connect mosquitto anonymous", async () =>
            connectRate(await startMosquittoWith({ startTimeout: start }), () => ({}), opts),
          ),
    };
    for (const [name, f] of Object.entries(r.connect))
      console.log(
        `  CONNECT ${name.padEnd(18)} ${int(f.connectsPerSec).padStart(7)} connections/s, ${f.cpuMsPerConnect?.toFixed(2) ?? "-"} ms server CPU each${f.errors ? ` (errors: ${f.errors})` : ""}${f.skipped ? ` skipped: ${f.skipped}` : ""}`,
      );
    r.loadAverageAfter = loadAverage();
    console.log(
      `  load average before ${r.loadAverageBefore.join(" ")}, after ${r.loadAverageAfter.join(" ")}`,
    );
    r.targets = [
      ...["fanin", "fanout", "rr"].map((k) =>
        target(`${k}: security on >= 0.9x off`, r.cases[k].ratio, (v) => v >= 0.9),
      ),
      ...["fanin", "fanout", "rr"].map((k) =>
        target(
          `${k}: server CPU per message, on <= 1/0.9x off (robust to the machine's other load)`,
          r.cases[k].cpuRatio,
          (v) => v <= 1 / 0.9,
        ),
      ),
    ];
    return r;
  },
};
