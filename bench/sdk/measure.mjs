// Measurement windows shared by the SDK bench scenarios: warm-up, then counters, server CPU
// (/proc/<pid>/stat), the bench process's own CPU (all its worker threads: the load generator),
// worker event-loop utilisation and other processes' CPU over one window.
import { setTimeout as sleep } from "node:timers/promises";
import { machineCpu, otherCpu } from "../lib/cpu.mjs";
import { rate } from "../lib/pool.mjs";

/** Share of the server's CPU time spent in the kernel (syscalls: socket reads and writes). */
function sysShare(a, b) {
  const user = b.user - a.user;
  const sys = b.sys - a.sys;
  return user + sys > 0 ? sys / (user + sys) : null;
}

/**
 * Runs one window. `counter` is the pool whose `recv` is the figure; `pools` are every pool of the
 * generator (their ELU is reported). Returns rates per second and CPU in cores.
 */
export async function measureWindow(server, opts, { counter, pools, extra = [], begin, end }) {
  await sleep(opts.warmup * 1000);
  await begin?.();
  const before = await counter.snap();
  const extraBefore = await Promise.all(extra.map((p) => p.snap()));
  const cpu0 = server.cpuSeconds();
  const split0 = server.cpuSplit?.();
  const gen0 = process.cpuUsage();
  const machine = machineCpu();
  const other = otherCpu([server.pid]);
  pools.forEach((p) => p.markElu());
  await sleep(opts.duration * 1000);
  await end?.();
  const after = await counter.snap();
  const extraAfter = await Promise.all(extra.map((p) => p.snap()));
  const seconds = (after.snaps[0].t - before.snaps[0].t) / 1000;
  const gen = process.cpuUsage(gen0);
  return {
    seconds,
    recvPerSec: rate(before, after, "recv"),
    sentPerSec: rate(before, after, "sent"),
    extraSentPerSec: extraBefore.map((b, i) => rate(b, extraAfter[i], "sent")),
    serverCpu: (server.cpuSeconds() - cpu0) / seconds,
    serverSysShare: split0 ? sysShare(split0, server.cpuSplit()) : null,
    generatorCpu: (gen.user + gen.system) / 1e6 / seconds,
    generatorElu: pools.map((p) => (p.elus ? p.elus() : [p.maxElu()])),
    generatorMaxElu: Math.max(...pools.map((p) => p.maxElu())),
    machineCpu: machine(),
    otherCpu: other(),
    errors: (after.errors ?? 0) - (before.errors ?? 0),
    firstError: after.snaps.map((s) => s.firstError ?? s.firstErrorMessage).find(Boolean) ?? null,
  };
}

/** The CPU figures of a window, as the fan-out and latency results report them. */
export const cpuFigures = (m) => ({
  serverCpu: m.serverCpu,
  serverSysShare: m.serverSysShare,
  generatorCpu: m.generatorCpu,
  generatorMaxElu: m.generatorMaxElu,
  machineCpu: m.machineCpu,
  otherCpu: m.otherCpu,
});
