#!/usr/bin/env node
// @ts-check
// The SDK scenarios alone (sdk-fanout, sdk-latency and rr of bench/run.mjs), with this script's
// former option names: --scenarios fanout,latency,rr, --out for the SDK results, BENCH_SDK_<NAME>.
// See docs/performance.md ("SDK door and request-response"). `node bench/run-sdk.mjs --help`.
import { killAll } from "./lib/child.mjs";
import { runMain } from "./lib/driver.mjs";
import { main } from "./run.mjs";

runMain(() => main({ alias: "sdk" }), killAll);
