// @ts-check
// Preloaded into the Skein child (`node --import bench/lib/gc-probe.mjs ...`): records every garbage
// collection pause the server's process takes, one line per pause appended to the file named by
// SKEIN_BENCH_GC_FILE: "<epoch ms at start> <pause ms> <kind>" (kind: 1 scavenge, 2 minor mark-sweep,
// 4 mark-compact, 8 incremental marking, 16 weak callbacks; perf_hooks constants.NODE_PERFORMANCE_GC_*).
// The bench reads the lines of its measurement window (gc.mjs). The observer runs a few times a
// second at most and writes with one appendFileSync per batch of entries.
import fs from "node:fs";
import { PerformanceObserver } from "node:perf_hooks";

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
}
