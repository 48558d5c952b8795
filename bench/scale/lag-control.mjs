// @ts-check
// A child process of bench/scale/lag.mjs: the control. It does nothing but run the same event-loop
// delay monitor as the server's /metrics (perf_hooks.monitorEventLoopDelay, 10 ms), so the lag it
// sees in a window is what the machine's scheduling alone costs a Node process then (a shared, loaded
// machine delays every process). On "read" it answers its p50, p99 and max (ms, the 10 ms timer
// included, as prom-client exports them) and resets.
import { monitorEventLoopDelay } from "node:perf_hooks";

const histogram = monitorEventLoopDelay({ resolution: 10 });
histogram.enable();
process.on("message", () => {
  process.send?.({
    p50Ms: histogram.percentile(50) / 1e6,
    p99Ms: histogram.percentile(99) / 1e6,
    maxMs: histogram.max / 1e6,
  });
  histogram.reset();
});
process.on("disconnect", () => process.exit(0));
