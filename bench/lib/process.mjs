// @ts-check
// Process plumbing shared by bench/run.mjs and bench/run-sdk.mjs: more file descriptors, and no
// child process left behind.
import { execFileSync, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/** A bash prelude that raises the open-files limit as far as allowed, then runs "$@". */
export const RAISE_FDS = 'ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"; exec "$@"';

/**
 * Node cannot raise its own open-files limit: re-runs this script under a raised `ulimit -n` when
 * the soft limit is below `needed`. Returns true when the re-run took over (the caller returns).
 */
/** @param {number} needed */
export function reexecWithMoreFds(needed) {
  const soft = execFileSync("bash", ["-c", "ulimit -n"], { encoding: "utf8" }).trim();
  if (soft === "unlimited" || Number(soft) >= needed || process.env.BENCH_REEXEC) return false;
  const argv = [process.execPath, ...process.execArgv, ...process.argv.slice(1)];
  const child = spawn("bash", ["-c", RAISE_FDS, "bench", ...argv], {
    stdio: "inherit",
    env: { ...process.env, BENCH_REEXEC: "1" },
  });
  process.on("SIGINT", () => {}); // the child gets Ctrl-C too and cleans up its servers
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
  return true;
}

/** Kills the children (`killAll`) on exit and on SIGINT, SIGTERM and SIGHUP. */
/**
 * @param {() => void} killAll
 * @param {string} [what]
 */
export function installCleanup(killAll, what = "servers") {
  process.on("exit", killAll);
  for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
    process.on(signal, () => {
      console.error(`\n${signal}: stopping ${what}`);
      killAll();
      process.exit(130);
    });
  }
}

/** The path of an executable on PATH (or in /usr/sbin, where Debian puts brokers), or null. */
/**
 * @param {string} name
 * @returns {string | null}
 */
export function findBinary(name) {
  const dirs = [...(process.env.PATH ?? "").split(":"), "/usr/sbin", "/usr/local/sbin"];
  for (const dir of dirs) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return file;
    } catch {
      // keep looking
    }
  }
  return null;
}

/** True when something accepts TCP connections on 127.0.0.1:port. */
/**
 * @param {number} port
 * @returns {Promise<boolean>}
 */
export function canConnect(port) {
  return new Promise((resolve) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

/** User and system (kernel) CPU seconds a process used so far (all threads), from /proc/<pid>/stat. */
/** @param {number} pid */
export function procCpu(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(f[11]) / CLK_TCK, sys: Number(f[12]) / CLK_TCK };
}

/** Resident set size of a process in bytes, from /proc/<pid>/status VmRSS. */
/** @param {number} pid */
export function procRss(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1]) * 1024;
}

/**
 * Pins every thread of this process (and the worker threads it starts later, which inherit it) to
 * CPU `cpu` with taskset, when taskset is on PATH and the machine has more CPUs than that.
 * @param {number} cpu
 */
export function pinSelf(cpu) {
  const taskset = findBinary("taskset");
  if (!taskset || os.cpus().length <= cpu) return;
  execFileSync(taskset, ["-a", "-p", "-c", String(cpu), String(process.pid)], { stdio: "ignore" });
}
