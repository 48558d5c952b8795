// Command-line and environment options for `node bench/run-sdk.mjs`.
// Precedence: --flag, then BENCH_SDK_<NAME> environment variable, then BENCH_<NAME> for the options
// shared with bench/run.mjs (duration, repeat, warmup, payload, subscribers, rate, latency-subs,
// mqtt, start-timeout, skein-args), then the default.
import { list, mqttVersion, num, parseOptions } from "../lib/args.mjs";

export const ALL_SCENARIOS = ["fanout", "latency", "rr"];
export const ALL_RR_KINDS = ["sdk", "mqtt", "raw", "relay", "nats"];
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

const DEFAULTS = {
  scenarios: ALL_SCENARIOS.join(","),
  duration: "3", // measurement window, seconds
  repeat: "3", // runs of every window, taking turns between the cases compared; median reported
  warmup: "1", // seconds before the window opens
  payload: "32", // fan-out and latency value bytes (>= 16: the timestamp lives in it)
  subscribers: "1000", // fan-out subscribers (each door)
  "sdk-workers": "4", // worker threads holding the SDK fan-out subscribers
  window: "64", // fan-out: published updates not yet delivered to every subscriber (both doors)
  inflight: "64", // fan-out: SDK sets without a result
  batch: "4", // fan-out: updates per write (SDK sets per WebSocket message, MQTT PUBLISHes per write)
  rate: "2000", // latency: updates/s
  "latency-subs": "10",
  mqtt: "4", // MQTT version of the fan-out and latency clients (requesters are always MQTT 5)
  "rr-kinds": ALL_RR_KINDS.join(","),
  "rr-payload": "64",
  "rr-inflight": "64", // requests outstanding (over all requester connections)
  "rr-conns": "1", // requester connections
  "rr-rate": "5000", // fixed-rate latency window: requests/s
  profile: "", // "fanout,rr": also run those SDK cases once more with the server under --cpu-prof
  out: "bench/results/sdk-latest.json",
  "start-timeout": "20",
  "skein-args": "",
};

const USAGE = `Usage: node bench/run-sdk.mjs [options]   (every option also reads BENCH_SDK_<NAME>)
  --scenarios LIST      ${ALL_SCENARIOS.join(",")} (default: all)
  --duration S          measurement window, seconds (default ${DEFAULTS.duration})
  --repeat N            runs of every window, taking turns between the cases compared; the median
                        run is reported, quiet runs preferred (default ${DEFAULTS.repeat})
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
  --rr-kinds LIST       ${ALL_RR_KINDS.join(",")} (default: all; nats skipped without nats-server;
                        relay: the raw frames through a bare ws + msgpackr relay, the Node floor)
  --rr-payload N        request and response bytes (default ${DEFAULTS["rr-payload"]})
  --rr-inflight N       requests outstanding in the throughput window (default ${DEFAULTS["rr-inflight"]})
  --rr-conns N          requester connections (default ${DEFAULTS["rr-conns"]})
  --rr-rate N           requests/s of the latency window (default ${DEFAULTS["rr-rate"]})
  --profile LIST        fanout,rr,rr-rate: afterwards profile the server (node --cpu-prof) under that
                        SDK load (rr: 64 in flight; rr-rate: the fixed-rate latency window)
  --out FILE            JSON results (default ${DEFAULTS.out})
  --start-timeout S     wait this long for a server's ports (default ${DEFAULTS["start-timeout"]})
  --skein-args="ARGS"   extra arguments for the Skein command line (split on spaces)`;

export function readOptions(argv = process.argv.slice(2)) {
  const { get } = parseOptions({
    argv,
    script: "bench/run-sdk.mjs",
    usage: USAGE,
    defaults: DEFAULTS,
    envPrefixes: (name) => (SHARED.has(name) ? ["BENCH_SDK_", "BENCH_"] : ["BENCH_SDK_"]),
  });
  const mqtt = mqttVersion(get("mqtt"));
  return {
    scenarios: list(get("scenarios"), ALL_SCENARIOS, "scenario"),
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
    mqtt,
    rrKinds: list(get("rr-kinds"), ALL_RR_KINDS, "request-response kind"),
    rrPayload: num("rr-payload", get("rr-payload"), 1, 65536),
    rrInflight: num("rr-inflight", get("rr-inflight"), 1, 10000),
    rrConns: num("rr-conns", get("rr-conns"), 1, 64),
    rrRate: num("rr-rate", get("rr-rate"), 1, 100000),
    profile: list(get("profile"), ["fanout", "rr", "rr-rate"], "profile case"),
    out: get("out"),
    startTimeout: num("start-timeout", get("start-timeout"), 1, 300),
    skeinArgs: get("skein-args").split(" ").filter(Boolean),
  };
}
