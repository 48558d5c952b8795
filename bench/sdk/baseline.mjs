// The machine's own floor for the latency figures: a one-byte TCP ping-pong over 127.0.0.1 between
// this process and a child Node process (TCP_NODELAY, paced with 1 ms pauses like a fixed-rate
// load). Any round trip through a server takes at least this; on a virtual machine, waking a
// sleeping thread is often what costs most. Bounded: ROUNDS round trips, a 10 s deadline.
import { spawn } from "node:child_process";
import net from "node:net";
import { setTimeout as sleep } from "node:timers/promises";
import { freePort } from "../lib/brokers.mjs";
import { percentiles } from "../lib/stats.mjs";

const ROUNDS = 2000;
const ECHO =
  'const net=require("node:net");net.createServer((s)=>{s.setNoDelay(true);s.on("data",(d)=>s.write(d))})' +
  '.listen(Number(process.argv[1]),"127.0.0.1",()=>process.stdout.write("ready\\n"))';

export async function tcpBaseline() {
  const port = await freePort();
  const child = spawn(process.execPath, ["-e", ECHO, String(port)], { stdio: ["ignore", "pipe", "ignore"] });
  let socket = null;
  try {
    await new Promise((resolve, reject) => {
      child.stdout.once("data", resolve);
      child.once("exit", () => reject(new Error("echo server exited")));
    });
    socket = net.connect({ host: "127.0.0.1", port, noDelay: true });
    await new Promise((resolve, reject) => {
      socket.once("connect", resolve);
      socket.once("error", reject);
    });
    const samples = new Float64Array(ROUNDS);
    const deadline = Date.now() + 10000;
    let n = 0;
    for (; n < ROUNDS && Date.now() < deadline; n++) {
      const t0 = process.hrtime.bigint();
      const answered = new Promise((resolve) => socket.once("data", resolve));
      socket.write("x");
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
