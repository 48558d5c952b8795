// @ts-check
// Machine-wide CPU accounting. The bench may run on a shared box, so every window also records
// the cores used by processes other than the broker and the bench itself ("other CPU"): when that
// is not near zero, the figures of that window are skewed.
import fs from "node:fs";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";

function sample() {
  const fields = fs
    .readFileSync("/proc/stat", "utf8")
    .split("\n", 1)[0]
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = fields.slice(0, 8).reduce((a, b) => a + b, 0); // user..steal
  const idle = fields[3] + fields[4]; // idle + iowait
  return { total, idle, steal: fields[7] };
}

/** Starts a measurement; the returned function gives the busy cores since then. */
export function machineCpu() {
  const a = sample();
  return () => {
    const b = sample();
    const total = b.total - a.total;
    return total > 0 ? ((total - (b.idle - a.idle)) / total) * os.cpus().length : 0;
  };
}

/** Like machineCpu, for steal time: the hypervisor ran someone else (a source of latency hiccups). */
export function stealCpu() {
  const a = sample();
  return () => {
    const b = sample();
    const total = b.total - a.total;
    return total > 0 ? ((b.steal - a.steal) / total) * os.cpus().length : 0;
  };
}

const TICKS_PER_S = 100; // USER_HZ: /proc/<pid>/stat counts in 1/100 s on Linux

/** @param {number[]} exclude */
function processTicks(exclude) {
  const ticks = new Map();
  for (const name of fs.readdirSync("/proc")) {
    const pid = Number(name);
    if (!pid || exclude.includes(pid)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks.set(pid, Number(f[11]) + Number(f[12]));
    } catch {
      // exited meanwhile
    }
  }
  return ticks;
}

/** Starts a measurement; the returned function gives cores used since then by other processes. */
/** @param {number[]} excludePids */
export function otherCpu(excludePids) {
  const exclude = [process.pid, ...excludePids];
  const a = processTicks(exclude);
  const t0 = process.hrtime.bigint();
  return () => {
    const b = processTicks(exclude);
    let ticks = 0;
    for (const [pid, t] of b) ticks += t - (a.get(pid) ?? 0);
    return ticks / TICKS_PER_S / (Number(process.hrtime.bigint() - t0) / 1e9);
  };
}

/** Busy cores over `ms` before anything of ours runs: other load skews every figure. */
export async function backgroundLoad(ms = 1000) {
  const busy = machineCpu();
  await sleep(ms);
  return busy();
}
