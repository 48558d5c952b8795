// @ts-check
// Preloaded into a Node broker's child (`node --import bench/lib/gc-probe.mjs ...`: Skein and the
// bare relay): records every garbage collection pause the process takes, one line per pause appended
// to the file named by SKEIN_BENCH_GC_FILE: "<epoch ms at start> <pause ms> <kind>" (kind: 1
// scavenge, 2 minor mark-sweep, 4 mark-compact, 8 incremental marking, 16 weak callbacks; perf_hooks
// constants.NODE_PERFORMANCE_GC_*). And the event loop's delay (monitorEventLoopDelay, 1 ms
// resolution), one line a second appended to "<that file>.loop": "<epoch ms at the end of the
// second> <max ms> <p99 ms> <mean ms>", so that a stall in the latency tail can be put on the server
// or on the load generator (whose workers watch their own loops, worker.mjs). The bench reads the
// lines of its measurement window (gc.mjs). The observer runs a few times a second at most and
// writes with one appendFileSync per batch of entries.
import fs from "node:fs";
import { PerformanceObserver, monitorEventLoopDelay } from "node:perf_hooks";

const file = process.env.SKEIN_BENCH_GC_FILE;
if (file) {
  fs.writeFileSync(file, "");
  const origin = performance.timeOrigin;
  new PerformanceObserver((list) => {
    let lines = "";
    for (const e of list.getEntries()) {
      lines += `${(origin + e.startTime).toFixed(1)} ${e.duration.toFixed(3)} ${/** @type {{ detail?: { kind?: number } }} */ (e).detail?.kind ?? 0}\n`;
    }
    fs.appendFileSync(file, lines);
  }).observe({ entryTypes: ["gc"] });

  const loopFile = `${file}.loop`;
  fs.writeFileSync(loopFile, "");
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  setInterval(() => {
    const ms = (/** @type {number} */ ns) => (ns / 1e6).toFixed(3);
    fs.appendFileSync(
      loopFile,
      `${Date.now()} ${ms(delay.max)} ${ms(delay.percentile(99))} ${ms(delay.mean)}\n`,
    );
    delay.reset();
  }, 1000).unref();
}
