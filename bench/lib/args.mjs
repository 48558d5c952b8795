// Command-line and environment options for `node bench/run.mjs`, and the option parser of both
// bench drivers (bench/sdk/args.mjs reads the SDK bench's options with it).
// Precedence: --flag, then BENCH_<NAME> environment variable, then the default.
import { parseArgs } from "node:util";

export const ALL_BROKERS = ["skein", "aedes", "mosquitto"];
export const ALL_SCENARIOS = ["ceiling", "fanin", "fanout", "qos1", "qos1-flood", "latency", "idle"];

const DEFAULTS = {
  brokers: ALL_BROKERS.join(","),
  scenarios: ALL_SCENARIOS.join(","),
  duration: "5", // measurement window, seconds
  repeat: "1", // runs per scenario and broker; the median run is reported
  warmup: "1", // seconds before the window opens
  payload: "32", // PUBLISH payload bytes (>= 16: the latency timestamp lives in it)
  publishers: "32", // fan-in and QoS 1 publishers
  subscribers: "1000", // fan-out subscribers
  rate: "2000", // latency scenario: msgs/s published
  "latency-subs": "10",
  "idle-conns": "10000",
  mqtt: "4", // protocol version: 4 (3.1.1) or 5
  out: "bench/results/latest.json",
  "start-timeout": "20", // seconds to wait for a broker port to accept connections
  "skein-args": "", // extra arguments for the Skein CLI, e.g. "--config bench/skein.json"
};

const USAGE = `Usage: node bench/run.mjs [options]   (every option also reads BENCH_<NAME>, e.g. BENCH_BROKERS)
  --brokers LIST        ${ALL_BROKERS.join(",")} (default: all; mosquitto is skipped if not on PATH)
  --scenarios LIST      ${ALL_SCENARIOS.join(",")} (default: all)
  --duration S          measurement window per scenario, seconds (default ${DEFAULTS.duration})
  --warmup S            warm-up before each window, seconds (default ${DEFAULTS.warmup})
  --repeat N            run each scenario N times per broker (brokers take turns) and report the
                        median run (by msgs/s, p99 or RSS/conn); all runs go to the JSON
  --payload N           payload bytes (default ${DEFAULTS.payload}, min 16)
  --publishers N        fan-in / QoS 1 publishers (default ${DEFAULTS.publishers})
  --subscribers N       fan-out subscribers (default ${DEFAULTS.subscribers})
  --rate N              latency scenario publish rate, msgs/s (default ${DEFAULTS.rate})
  --latency-subs N      latency scenario subscribers (default ${DEFAULTS["latency-subs"]})
  --idle-conns N        idle connections (default ${DEFAULTS["idle-conns"]})
  --mqtt 4|5            MQTT protocol version used by the load generator (default 4 = 3.1.1)
  --out FILE            JSON results (default ${DEFAULTS.out})
  --start-timeout S     wait this long for a broker's port (default ${DEFAULTS["start-timeout"]})
  --skein-args="ARGS"   extra arguments appended to the Skein command line (split on spaces)
  --nodelay             Aedes and Mosquitto with TCP_NODELAY (default: socket defaults, Nagle on;
                        Skein decides for itself)`;

/** The comma-separated `value` as a list; every item must be one of `allowed`. */
export function list(value, allowed, what) {
  const items = value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);
  for (const item of items) if (!allowed.includes(item)) throw new Error(`unknown ${what} "${item}"`);
  return items;
}

/** `value` as a number in [min, max], or an error naming --`name`. */
export function num(name, value, min, max) {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new Error(`--${name} must be a number in [${min}, ${max}]`);
  return n;
}

/** The MQTT protocol version option: 4 (3.1.1) or 5. */
export function mqttVersion(value) {
  const mqtt = num("mqtt", value, 4, 5);
  if (mqtt !== 4 && mqtt !== 5) throw new Error("--mqtt must be 4 or 5");
  return mqtt;
}

/**
 * Parses `argv` for the bench script `script`: a string option for every key of `defaults`, a
 * boolean for every name in `booleans`, and --help/-h (prints `usage` and exits). Returns the parsed
 * `values` and `get(name)`: --name, else the first of the environment variables `<prefix><NAME>` set
 * for the prefixes envPrefixes(name), else the default.
 */
export function parseOptions({ argv, script, usage, defaults, booleans = [], envPrefixes }) {
  const options = { help: { type: "boolean", short: "h" } };
  for (const name of booleans) options[name] = { type: "boolean" };
  for (const name of Object.keys(defaults)) options[name] = { type: "string" };
  let values;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true }));
  } catch (err) {
    throw new Error(`${err.message}\nRun node ${script} --help for the options.`, { cause: err });
  }
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const env = (name) => name.toUpperCase().replace(/-/g, "_");
  const fromEnv = (name) =>
    envPrefixes(name)
      .map((prefix) => process.env[`${prefix}${env(name)}`])
      .find((v) => v !== undefined);
  const get = (name) => values[name] ?? fromEnv(name) ?? defaults[name];
  return { values, get };
}

export function readOptions(argv = process.argv.slice(2)) {
  const { values, get } = parseOptions({
    argv,
    script: "bench/run.mjs",
    usage: USAGE,
    defaults: DEFAULTS,
    booleans: ["nodelay"],
    envPrefixes: () => ["BENCH_"],
  });
  const mqtt = mqttVersion(get("mqtt"));
  return {
    brokers: list(get("brokers"), ALL_BROKERS, "broker"),
    scenarios: list(get("scenarios"), ALL_SCENARIOS, "scenario"),
    duration: num("duration", get("duration"), 0.5, 300),
    warmup: num("warmup", get("warmup"), 0, 60),
    repeat: num("repeat", get("repeat"), 1, 50),
    payload: num("payload", get("payload"), 16, 65536),
    publishers: num("publishers", get("publishers"), 1, 1000),
    subscribers: num("subscribers", get("subscribers"), 1, 20000),
    rate: num("rate", get("rate"), 1, 100000),
    latencySubs: num("latency-subs", get("latency-subs"), 1, 1000),
    idleConns: num("idle-conns", get("idle-conns"), 1, 50000),
    mqtt,
    out: get("out"),
    startTimeout: num("start-timeout", get("start-timeout"), 1, 300),
    skeinArgs: get("skein-args").split(" ").filter(Boolean),
    nodelay: values.nodelay ?? ["1", "true"].includes(process.env.BENCH_NODELAY ?? ""),
  };
}
