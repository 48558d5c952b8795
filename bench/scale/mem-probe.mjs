// @ts-check
// Loaded into a server under test with `node --expose-gc --import bench/scale/mem-probe.mjs`
// (bench/scale/floor.mjs): on SIGWINCH it runs two full GCs and appends one JSON line to the file
// named by MEM_PROBE_FILE: process.memoryUsage(), the V8 heap spaces (size and used), and the
// resident set of /proc/self/smaps split into the main malloc arena ([heap]), other anonymous
// mappings (V8's pages, other malloc arenas and mmapped chunks) and file mappings.
import fs from "node:fs";
import v8 from "node:v8";

const file = process.env.MEM_PROBE_FILE;

/** Resident kB by kind of mapping, from /proc/self/smaps. */
function smaps() {
  /** @type {Record<string, number>} */
  const out = { brkHeap: 0, anon: 0, file: 0, anonMappings: 0 };
  let kind = "anon";
  for (const line of fs.readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const m = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const name = m[1];
      kind = name === "[heap]" ? "brkHeap" : name === "" ? "anon" : name.startsWith("[") ? "anon" : "file";
      if (kind === "anon") out.anonMappings++;
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r) out[kind] += Number(r[1]);
  }
  return out;
}

/** Anonymous mappings by size (MB, rounded) -> [count, resident kB], from /proc/self/smaps. */
function regions() {
  /** @type {Record<string, [number, number]>} */
  const out = {};
  let key = null;
  for (const line of fs.readFileSync("/proc/self/smaps", "utf8").split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const mb = (parseInt(m[2], 16) - parseInt(m[1], 16)) / 1048576;
      key = m[3] === "" ? `${mb < 1 ? mb.toFixed(2) : Math.round(mb)} MB` : null;
      continue;
    }
    const r = /^Rss:\s+(\d+) kB/.exec(line);
    if (r && key !== null) {
      const e = (out[key] ??= [0, 0]);
      e[0]++;
      e[1] += Number(r[1]);
    }
  }
  return out;
}

process.on("SIGWINCH", () => {
  const gc = /** @type {(() => void) | undefined} */ (globalThis.gc);
  gc?.();
  gc?.();
  const spaces = Object.fromEntries(
    v8.getHeapSpaceStatistics().map((s) => [s.space_name, { size: s.space_size, used: s.space_used_size }]),
  );
  const line = { at: Date.now(), mem: process.memoryUsage(), smaps: smaps(), spaces, regions: regions() };
  if (file) fs.appendFileSync(file, JSON.stringify(line) + "\n");
  // MEM_PROBE_SNAPSHOTS=DIR: also a heap snapshot per signal, DIR/<n>.heapsnapshot
  const dir = process.env.MEM_PROBE_SNAPSHOTS;
  if (dir) v8.writeHeapSnapshot(`${dir}/${taken++}.heapsnapshot`);
  if (file) fs.appendFileSync(`${file}.done`, "x");
});
let taken = 0;
