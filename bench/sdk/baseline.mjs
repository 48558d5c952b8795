// @ts-check
// The machine's own floor for the latency figures: a one-byte TCP ping-pong over 127.0.0.1 between
// this process and a child Node process (TCP_NODELAY, paced with 1 ms pauses like a fixed-rate
// load). Any round trip through a server takes at least this; on a virtual machine, waking a
// sleeping thread is often what costs most. Bounded: ROUNDS round trips, a 10 s deadline.
import { spawn } from "node:child_process";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../lib/child.mjs";
import { percentiles } from "../lib/stats.mjs";

const ROUNDS = 2000;
const ECHO =
  'const net=require("node:net");net.createServer((s)=>{s.setNoDelay(true);s.on("data",(d)=>s.write(d))})' +
  '.listen(Number(process.argv[1]),"127.0.0.1",()=>process.stdout.write("ready\\n"))';

export async function tcpBaseline() {
  const port = await freePort();
  const child = spawn(process.execPath, ["-e", ECHO, String(port)], { stdio: ["ignore", "pipe", "ignore"] });
  /** @type {import("node:net").Socket | null} */
  let socket = null;
  try {
    await new Promise((resolve, reject) => {
      child.stdout.once("data", resolve);
      child.once("exit", () => reject(new Error("echo server exited")));
    });
    const sock = net.connect({ host: "127.0.0.1", port, noDelay: true });
    socket = sock;
    await new Promise((resolve, reject) => {
      sock.once("connect", resolve);
      sock.once("error", reject);
    });
    const samples = new Float64Array(ROUNDS);
    const deadline = Date.now() + 10000;
    let n = 0;
    for (; n < ROUNDS && Date.now() < deadline; n++) {
      const t0 = process.hrtime.bigint();
      const answered = new Promise((resolve) => sock.once("data", resolve));
      sock.write("x");
      await answered;
      samples[n] = Number(process.hrtime.bigint() - t0) / 1e6;
      if (n % 3 === 0) await sleep(1);
    }
    const p = percentiles(samples.subarray(n > 200 ? 200 : 0, n)); // the first ones warm up
    return { p50Ms: p.p50Ms, p99Ms: p.p99Ms, samples: p.samples };
  } finally {
    socket?.destroy();
    child.kill();
  }
}

// Late wakeups: three idle child processes, each with a 2 ms interval timer, for STALL_SECONDS. A
// wakeup 2 ms or more late (a gap over 4 ms) means the process could not run although it had
// nothing else to do: the scheduler or the hypervisor kept it off a CPU. A request-response round
// trip crosses three processes, so these stalls bound its p99 from below whatever the server does.
const STALL_SECONDS = 3;
const STALL_PROCESSES = 3;
const STALL_CHILD =
  "const {performance:p}=require('node:perf_hooks');let last=p.now(),n=0,sum=0,max=0;" +
  "const iv=setInterval(()=>{const now=p.now(),gap=now-last;last=now;" +
  "if(gap>4){n++;sum+=gap-2;if(gap-2>max)max=gap-2}},2);" +
  `setTimeout(()=>{clearInterval(iv);process.stdout.write(JSON.stringify({n,sum,max}))},${STALL_SECONDS * 1000})`;

/** Late timer wakeups of idle processes: per process, late wakeups/s, share of time late, worst. */
export async function wakeupStalls() {
  const runs = await Promise.all(
    Array.from({ length: STALL_PROCESSES }, () => {
      const child = spawn(process.execPath, ["-e", STALL_CHILD], { stdio: ["ignore", "pipe", "ignore"] });
      let out = "";
      child.stdout.on("data", (d) => (out += d));
      const killer = setTimeout(() => child.kill(), (STALL_SECONDS + 10) * 1000);
      return new Promise((resolve) =>
        child.once("exit", () => {
          clearTimeout(killer);
          try {
            resolve(JSON.parse(out));
          } catch {
            resolve(null);
          }
        }),
      );
    }),
  );
  const ok = runs.filter(Boolean);
  if (ok.length === 0) return null;
  return {
    perSecond: ok.reduce((a, r) => a + r.n, 0) / ok.length / STALL_SECONDS,
    lateShare: ok.reduce((a, r) => a + r.sum, 0) / ok.length / (STALL_SECONDS * 1000),
    maxMs: Math.max(...ok.map((r) => r.max)),
  };
}
