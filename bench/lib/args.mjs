// @ts-check
// Command-line and environment options of the bench (bench/run.mjs, and bench/run-sdk.mjs, its alias
// for the SDK scenarios alone). One option table serves both; the MQTT scenarios and the SDK
// scenarios each get their own option object (as their JSON `meta.options`), since a few options
// have a different default for each (duration, repeat, out).
// Precedence: --flag, then the environment, then the default. MQTT scenarios read BENCH_<NAME>; SDK
// scenarios read BENCH_SDK_<NAME>, then BENCH_<NAME> for the options shared with the MQTT scenarios
// (duration, repeat, warmup, payload, subscribers, rate, latency-subs, mqtt, start-timeout,
// skein-args).
import { parseArgs } from "node:util";

export const ALL_BROKERS = ["skein", "aedes", "mosquitto"];
/** Brokers that run only when named (node-relay: the latency scenario's floor, bench/relay-broker.mjs). */
export const EXTRA_BROKERS = ["node-relay"];
export const MQTT_SCENARIOS = ["ceiling", "fanin", "fanout", "qos1", "qos1-flood", "latency", "idle"];
/** The SDK scenarios by their name in bench/run.mjs; bench/run-sdk.mjs calls them fanout, latency, rr. */
export const SDK_SCENARIOS = ["sdk-fanout", "sdk-latency", "rr"];
/** Scenarios with their own servers and anchors (storage: issue 9 §4; security: issue 14 §5). */
export const OWN_SCENARIOS = ["storage", "security"];
export const ALL_SCENARIOS = [...MQTT_SCENARIOS, ...SDK_SCENARIOS, ...OWN_SCENARIOS];
export const ALL_RR_KINDS = ["sdk", "mqtt", "raw", "relay", "nats"];
export const PROFILE_CASES = ["fanout", "rr", "rr-rate"];
/** SDK scenario name in bench/run-sdk.mjs -> name in bench/run.mjs. */
const SDK_ALIAS = { fanout: "sdk-fanout", latency: "sdk-latency", rr: "rr" };

/** @typedef {"mqtt" | "sdk"} Suite */

/**
 * Options of the MQTT scenarios (the JSON `meta.options` of bench/results/latest.json).
 * @typedef {object} MqttOptions
 * @property {string[]} brokers
 * @property {string[]} scenarios
 * @property {number} duration
 * @property {number} warmup
 * @property {number} repeat
 * @property {number} payload
 * @property {number} publishers
 * @property {number} subscribers
 * @property {number} rate
 * @property {number} latencySubs
 * @property {number} idleConns
 * @property {4 | 5} mqtt
 * @property {string} out
 * @property {number} startTimeout
 * @property {string[]} skeinArgs
 * @property {string[]} skeinNodeArgs
 * @property {boolean} nodelay
 * @property {boolean} pin brokers on CPU 0 and the bench process (the load generator) on CPU 1
 * @property {number} startupScale storage scenario: size of the start-up data set (1 = issue 9 §1's)
 * @property {boolean} [skeinDefaults] set for one run by a scenario that wants Skein's defaults
 * @property {string} [skeinCli] another build's cli.js than BENCH_SKEIN_CLI's (bench/scale/connect-cpu.mjs --before)
 */

/**
 * Options of the SDK scenarios (the JSON `meta.options` of bench/results/sdk-latest.json); the
 * scenario names are the short ones (fanout, latency, rr).
 * @typedef {object} SdkOptions
 * @property {string[]} scenarios
 * @property {number} duration
 * @property {number} warmup
 * @property {number} repeat
 * @property {number} payload
 * @property {number} subscribers
 * @property {number} sdkWorkers
 * @property {number} window
 * @property {number} inflight
 * @property {number} batch
 * @property {number} rate
 * @property {number} latencySubs
 * @property {4 | 5} mqtt
 * @property {string[]} rrKinds
 * @property {number} rrPayload
 * @property {number} rrInflight
 * @property {number} rrConns
 * @property {number} rrRate
 * @property {string[]} profile
 * @property {string} out
 * @property {number} startTimeout
 * @property {string[]} skeinArgs
 */

/**
 * What one command line asks for: the options of each suite, null when none of its scenarios runs.
 * @typedef {{ mqtt: MqttOptions | null, sdk: SdkOptions | null }} BenchOptions
 */

/** @type {Record<string, string>} Defaults; the SDK scenarios take SDK_DEFAULTS first. */
const DEFAULTS = {
  brokers: ALL_BROKERS.join(","),
  scenarios: ALL_SCENARIOS.join(","),
  duration: "5", // measurement window, seconds
  repeat: "1", // runs per scenario and broker; the median run is reported
  warmup: "1", // seconds before the window opens
  payload: "32", // PUBLISH payload / value bytes (>= 16: the latency timestamp lives in it)
  publishers: "32", // fan-in and QoS 1 publishers
  subscribers: "1000", // fan-out subscribers (each door for the SDK fan-out)
  rate: "2000", // latency scenarios: msgs/s published
  "latency-subs": "10",
  "idle-conns": "10000",
  mqtt: "4", // protocol version: 4 (3.1.1) or 5 (SDK requesters are always MQTT 5)
  out: "bench/results/latest.json",
  "sdk-out": "bench/results/sdk-latest.json",
  "start-timeout": "20", // seconds to wait for a server's ports to accept connections
  "skein-args": "", // extra arguments for the Skein CLI, e.g. "--config bench/skein.json"
  "skein-node-args": "", // MQTT brokers: node options for the Skein child, e.g. "--max-semi-space-size=32"
  "sdk-workers": "4", // worker threads holding the SDK fan-out subscribers
  window: "64", // SDK fan-out: published updates not yet delivered to every subscriber (both doors)
  inflight: "64", // SDK fan-out: SDK sets without a result
  batch: "4", // SDK fan-out: updates per write (SDK sets per WebSocket message, MQTT PUBLISHes per write)
  "rr-kinds": ALL_RR_KINDS.join(","),
  "rr-payload": "64",
  "rr-inflight": "64", // requests outstanding (over all requester connections)
  "rr-conns": "1", // requester connections
  "rr-rate": "5000", // fixed-rate latency window: requests/s
  "startup-scale": "1", // storage scenario: the start-up data set's size, as a fraction of issue 9 §1's
  profile: "", // "fanout,rr": also run those SDK cases once more with the server under --cpu-prof
};

/** @type {Record<string, string>} The SDK scenarios' own defaults. */
const SDK_DEFAULTS = {
  duration: "3", // SDK windows are repeated (3 runs by default) and take turns between the cases
  repeat: "3", // runs of every window, taking turns between the cases compared; median reported
};

/** Options of the SDK scenarios that also read BENCH_<NAME> (after BENCH_SDK_<NAME>). */
const SHARED = new Set([
  "duration",
  "repeat",
  "warmup",
  "payload",
  "subscribers",
  "rate",
  "latency-subs",
  "mqtt",
  "start-timeout",
  "skein-args",
]);

/** The request-response and profile options, in the usage of both scripts. */
const RR_USAGE = `  --rr-kinds LIST       ${ALL_RR_KINDS.join(",")} (default: all; nats skipped without nats-server;
                        relay: the raw frames through a bare ws + msgpackr relay, the Node floor)
  --rr-payload N        request and response bytes (default ${DEFAULTS["rr-payload"]})
  --rr-inflight N       requests outstanding in the throughput window (default ${DEFAULTS["rr-inflight"]})
  --rr-conns N          requester connections (default ${DEFAULTS["rr-conns"]})
  --rr-rate N           requests/s of the latency window (default ${DEFAULTS["rr-rate"]})
  --profile LIST        ${PROFILE_CASES.join(",")}: afterwards profile the server (node --cpu-prof) under that
                        SDK load (rr: 64 in flight; rr-rate: the fixed-rate latency window)`;

const USAGE = `Usage: node bench/run.mjs [options]   (every option also reads BENCH_<NAME>, e.g. BENCH_BROKERS;
                                      the SDK scenarios read BENCH_SDK_<NAME> first)
  --brokers LIST        ${ALL_BROKERS.join(",")} (default: all; mosquitto is skipped if not on PATH);
                        also node-relay (latency only: a bare Node QoS 1 relay, the floor)
  --scenarios LIST      ${ALL_SCENARIOS.join(",")} (default: all)
                        MQTT brokers compared: ${MQTT_SCENARIOS.join(",")};
                        the SDK door against the MQTT door (and NATS): ${SDK_SCENARIOS.join(",")};
                        storage (Redis, JetStream, Mosquitto anchors) and security on vs off: ${OWN_SCENARIOS.join(",")}
  --duration S          measurement window per scenario, seconds (default ${DEFAULTS.duration}; SDK scenarios ${SDK_DEFAULTS.duration})
  --warmup S            warm-up before each window, seconds (default ${DEFAULTS.warmup})
  --repeat N            run each scenario N times per broker (brokers take turns) and report the
                        median run (by msgs/s, p99 or RSS/conn); all runs go to the JSON
                        (default ${DEFAULTS.repeat}; SDK scenarios ${SDK_DEFAULTS.repeat}: runs of every window, taking turns
                        between the cases compared; the median run is reported, quiet runs preferred)
  --payload N           payload bytes (default ${DEFAULTS.payload}, min 16)
  --publishers N        fan-in / QoS 1 publishers (default ${DEFAULTS.publishers})
  --subscribers N       fan-out subscribers (default ${DEFAULTS.subscribers}; sdk-fanout: per door)
  --rate N              latency scenario publish rate, msgs/s (default ${DEFAULTS.rate})
  --latency-subs N      latency scenario subscribers (default ${DEFAULTS["latency-subs"]})
  --idle-conns N        idle connections (default ${DEFAULTS["idle-conns"]})
  --mqtt 4|5            MQTT protocol version used by the load generator (default 4 = 3.1.1)
  --out FILE            JSON results of the MQTT scenarios (default ${DEFAULTS.out})
  --sdk-out FILE        JSON results of the SDK scenarios (default ${DEFAULTS["sdk-out"]})
  --start-timeout S     wait this long for a broker's port (default ${DEFAULTS["start-timeout"]})
  --skein-args="ARGS"   extra arguments appended to the Skein command line (split on spaces)
  --skein-node-args="ARGS"
                        node options for the Skein broker's process (split on spaces), e.g.
                        "--max-semi-space-size=32" or "--trace-gc"
  --nodelay             Aedes and Mosquitto with TCP_NODELAY (default: socket defaults, Nagle on;
                        Skein decides for itself)
  --pin                 each broker on CPU 0 and the bench (the load generator) on CPU 1 (taskset)
  --startup-scale F     storage: start-up data set size, a fraction of 100,000 retained topics,
                        1,000,000 events, 1,000 sessions x 100 queued (default ${DEFAULTS["startup-scale"]})
  --sdk-workers N       worker threads for the SDK fan-out subscribers (default ${DEFAULTS["sdk-workers"]})
  --window N            sdk-fanout delivery window, updates (default ${DEFAULTS.window})
  --inflight N          sdk-fanout: SDK sets without a result (default ${DEFAULTS.inflight})
  --batch N             sdk-fanout: updates per write (default ${DEFAULTS.batch})
${RR_USAGE}`;

const SDK_USAGE = `Usage: node bench/run-sdk.mjs [options]   (every option also reads BENCH_SDK_<NAME>)
  --scenarios LIST      fanout,latency,rr (default: all)
  --duration S          measurement window, seconds (default ${SDK_DEFAULTS.duration})
  --repeat N            runs of every window, taking turns between the cases compared; the median
                        run is reported, quiet runs preferred (default ${SDK_DEFAULTS.repeat})
  --warmup S            warm-up before each window, seconds (default ${DEFAULTS.warmup})
  --payload N           fan-out / latency value bytes (default ${DEFAULTS.payload}, min 16)
  --subscribers N       fan-out subscribers per door (default ${DEFAULTS.subscribers})
  --sdk-workers N       worker threads for the SDK fan-out subscribers (default ${DEFAULTS["sdk-workers"]})
  --window N            fan-out delivery window, updates (default ${DEFAULTS.window})
  --inflight N          fan-out: SDK sets without a result (default ${DEFAULTS.inflight})
  --batch N             fan-out: updates per write (default ${DEFAULTS.batch})
  --rate N              latency: updates/s (default ${DEFAULTS.rate})
  --latency-subs N      latency: subscribers (default ${DEFAULTS["latency-subs"]})
  --mqtt 4|5            MQTT version of the fan-out and latency clients (default 4)
${RR_USAGE}
  --out FILE            JSON results (default ${DEFAULTS["sdk-out"]})
  --start-timeout S     wait this long for a server's ports (default ${DEFAULTS["start-timeout"]})
  --skein-args="ARGS"   extra arguments for the Skein command line (split on spaces)`;

/** Options bench/run-sdk.mjs does not take (the MQTT brokers' own, and its --out is --sdk-out). */
const MQTT_ONLY = [
  "brokers",
  "publishers",
  "idle-conns",
  "sdk-out",
  "nodelay",
  "pin",
  "startup-scale",
  "skein-node-args",
];

/**
 * The comma-separated `value` as a list; every item must be one of `allowed`.
 * @param {string} value
 * @param {readonly string[]} allowed
 * @param {string} what what an item is, for the error message
 * @returns {string[]}
 */
export function list(value, allowed, what) {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) if (!allowed.includes(item)) throw new Error(`unknown ${what} "${item}"`);
  return items;
}

/**
 * `value` as a number in [min, max], or an error naming --`name`.
 * @param {string} name
 * @param {string} value
 * @param {number} min
 * @param {number} max
 */
export function num(name, value, min, max) {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`--${name} must be a number in [${min}, ${max}]`);
  return n;
}

/**
 * The MQTT protocol version option: 4 (3.1.1) or 5.
 * @param {string} value
 * @returns {4 | 5}
 */
export function mqttVersion(value) {
  const mqtt = num("mqtt", value, 4, 5);
  if (mqtt !== 4 && mqtt !== 5) throw new Error("--mqtt must be 4 or 5");
  return mqtt;
}

/** @param {string} name */
const envName = (name) => name.toUpperCase().replace(/-/g, "_");

/**
 * Reads the options of `argv`. `alias` "sdk" reads them as bench/run-sdk.mjs did (its option names,
 * help, scenario names and environment; only the SDK scenarios run). --help/-h prints the usage and
 * exits.
 * @param {string[]} [argv]
 * @param {{ alias?: "sdk" }} [how]
 * @returns {BenchOptions}
 */
export function readOptions(argv = process.argv.slice(2), { alias } = {}) {
  const sdkAlias = alias === "sdk";
  const script = sdkAlias ? "bench/run-sdk.mjs" : "bench/run.mjs";
  /** @type {import("node:util").ParseArgsConfig["options"]} */
  const options = { help: { type: "boolean", short: "h" } };
  for (const name of Object.keys(DEFAULTS)) {
    if (!(sdkAlias && MQTT_ONLY.includes(name))) options[name] = { type: "string" };
  }
  if (!sdkAlias) options.nodelay = options.pin = { type: "boolean" };
  /** @type {Record<string, string | boolean | (string | boolean)[] | undefined>} */
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true }));
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`${message}\nRun node ${script} --help for the options.`, { cause: err });
  }
  if (values.help) {
    console.log(sdkAlias ? SDK_USAGE : USAGE);
    process.exit(0);
  }
  if (sdkAlias) {
    values["sdk-out"] = values.out;
    delete values.out;
  }
  /** @param {string} name */
  const flag = (name) => {
    const v = values[name];
    return typeof v === "string" ? v : undefined;
  };
  /** An MQTT scenario option: --name, BENCH_<NAME>, the default. @param {string} name */
  const mqttGet = (name) => flag(name) ?? process.env[`BENCH_${envName(name)}`] ?? DEFAULTS[name];
  /** An SDK scenario option: --name, BENCH_SDK_<NAME>, BENCH_<NAME> if shared, the default. @param {string} name */
  const sdkGet = (name) =>
    flag(name) ??
    process.env[`BENCH_SDK_${envName(name)}`] ??
    (SHARED.has(name) ? process.env[`BENCH_${envName(name)}`] : undefined) ??
    SDK_DEFAULTS[name] ??
    DEFAULTS[name];

  // The scenario list: bench/run.mjs reads BENCH_SCENARIOS, bench/run-sdk.mjs BENCH_SDK_SCENARIOS.
  const scenarios = sdkAlias
    ? list(
        flag("scenarios") ?? process.env.BENCH_SDK_SCENARIOS ?? "fanout,latency,rr",
        Object.keys(SDK_ALIAS),
        "scenario",
      ).map((s) => SDK_ALIAS[/** @type {keyof typeof SDK_ALIAS} */ (s)])
    : list(mqttGet("scenarios"), ALL_SCENARIOS, "scenario");
  // Each suite runs its scenarios in the order given.
  // The storage and security scenarios run with the MQTT scenarios' options, after them.
  const mqttScenarios = scenarios.filter((s) => MQTT_SCENARIOS.includes(s) || OWN_SCENARIOS.includes(s));
  const sdkScenarios = scenarios.filter((s) => SDK_SCENARIOS.includes(s));
  // The SDK results file: --sdk-out (bench/run-sdk.mjs: --out), BENCH_SDK_OUT, the default.
  const sdkOut = flag("sdk-out") ?? process.env.BENCH_SDK_OUT ?? DEFAULTS["sdk-out"];
  /** @param {string} name */
  const sdkGetOut = (name) => (name === "sdk-out" ? sdkOut : sdkGet(name));
  return {
    mqtt:
      mqttScenarios.length > 0
        ? mqttOptions(mqttGet, mqttScenarios, values.nodelay === true, values.pin === true)
        : null,
    sdk: sdkScenarios.length > 0 ? sdkOptions(sdkGetOut, sdkScenarios) : null,
  };
}

/**
 * @param {(name: string) => string} get
 * @param {string[]} scenarios
 * @param {boolean} nodelay
 * @param {boolean} pin
 * @returns {MqttOptions}
 */
function mqttOptions(get, scenarios, nodelay, pin) {
  return {
    brokers: list(get("brokers"), [...ALL_BROKERS, ...EXTRA_BROKERS], "broker"),
    scenarios,
    duration: num("duration", get("duration"), 0.5, 300),
    warmup: num("warmup", get("warmup"), 0, 60),
    repeat: num("repeat", get("repeat"), 1, 50),
    payload: num("payload", get("payload"), 16, 65536),
    publishers: num("publishers", get("publishers"), 1, 1000),
    subscribers: num("subscribers", get("subscribers"), 1, 20000),
    rate: num("rate", get("rate"), 1, 100000),
    latencySubs: num("latency-subs", get("latency-subs"), 1, 1000),
    idleConns: num("idle-conns", get("idle-conns"), 1, 50000),
    mqtt: mqttVersion(get("mqtt")),
    out: get("out"),
    startTimeout: num("start-timeout", get("start-timeout"), 1, 300),
    skeinArgs: get("skein-args").split(" ").filter(Boolean),
    skeinNodeArgs: get("skein-node-args").split(" ").filter(Boolean),
    nodelay: nodelay || ["1", "true"].includes(process.env.BENCH_NODELAY ?? ""),
    pin: pin || ["1", "true"].includes(process.env.BENCH_PIN ?? ""),
    startupScale: num("startup-scale", get("startup-scale"), 0.0001, 10),
  };
}

/**
 * @param {(name: string) => string} get
 * @param {string[]} scenarios the SDK scenarios by their bench/run.mjs names
 * @returns {SdkOptions}
 */
function sdkOptions(get, scenarios) {
  const short = Object.fromEntries(Object.entries(SDK_ALIAS).map(([k, v]) => [v, k]));
  return {
    scenarios: scenarios.map((s) => short[s]),
    duration: num("duration", get("duration"), 0.5, 120),
    warmup: num("warmup", get("warmup"), 0, 30),
    repeat: num("repeat", get("repeat"), 1, 9),
    payload: num("payload", get("payload"), 16, 65536),
    subscribers: num("subscribers", get("subscribers"), 1, 20000),
    sdkWorkers: num("sdk-workers", get("sdk-workers"), 1, 16),
    window: num("window", get("window"), 1, 100000),
    inflight: num("inflight", get("inflight"), 1, 10000),
    batch: num("batch", get("batch"), 1, 256),
    rate: num("rate", get("rate"), 1, 100000),
    latencySubs: num("latency-subs", get("latency-subs"), 1, 1000),
    mqtt: mqttVersion(get("mqtt")),
    rrKinds: list(get("rr-kinds"), ALL_RR_KINDS, "request-response kind"),
    rrPayload: num("rr-payload", get("rr-payload"), 1, 65536),
    rrInflight: num("rr-inflight", get("rr-inflight"), 1, 10000),
    rrConns: num("rr-conns", get("rr-conns"), 1, 64),
    rrRate: num("rr-rate", get("rr-rate"), 1, 100000),
    profile: list(get("profile"), PROFILE_CASES, "profile case"),
    out: get("sdk-out"),
    startTimeout: num("start-timeout", get("start-timeout"), 1, 300),
    skeinArgs: get("skein-args").split(" ").filter(Boolean),
  };
}
