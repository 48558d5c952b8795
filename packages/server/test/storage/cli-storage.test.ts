/**
 * The `skein` CLI keeps its data (issue 9): the built `dist/cli.js` in child processes, each on its own
 * temporary data directory. Start-up refusals (a directory another server holds, a corrupt database)
 * print one line and exit non-zero; SIGTERM commits and releases the lock; `skein backup FILE` copies
 * the database of a running server, and a server started on the copy has the data; a crash test kills
 * the server with SIGKILL at seeded random points under SDK and MQTT QoS 1 load and finds every
 * acknowledged value after a restart.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connect } from "../../../sdk/src/index.js";
import { connectClient, waitFor } from "../helpers.js";
import { CLI, buildCli } from "../built-cli.js";

/** The environment without any SKEIN_* variable of the developer's. */
function env(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SKEIN_")));
}

let workDir: string;
let dirs = 0;
const newDir = (): string => join(workDir, `data-${++dirs}`);

beforeAll(() => {
  buildCli();
  workDir = mkdtempSync(join(tmpdir(), "skein-cli-storage-"));
}, 120_000);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

/** Runs the CLI to completion. */
function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const options = { cwd: workDir, env: env(), encoding: "utf8", timeout: 20_000 } as const;
    execFile(process.execPath, [CLI, ...args], options, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

interface Running {
  child: ChildProcess;
  exited: Promise<number | null>;
  mqtt: number;
  http: number;
}

const children = new Set<ChildProcess>();
afterEach(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  children.clear();
});

/** Starts the CLI (default store: sqlite) on `dataDir` and free ports; waits for its listening line. */
async function start(dataDir: string): Promise<Running> {
  const child = spawn(
    process.execPath,
    [CLI, "--mqtt-port", "0", "--http-port", "0", "--data-dir", dataDir, "--log-level", "info"],
    { cwd: workDir, env: env(), stdio: ["ignore", "pipe", "pipe"] },
  );
  children.add(child);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  let listening: Record<string, unknown> | undefined;
  let partial = "";
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop()!;
    for (const line of lines) {
      const entry = line.trim() ? (JSON.parse(line) as Record<string, unknown>) : undefined;
      if (entry?.msg === "skein listening") listening = entry;
    }
  });
  let gone = false;
  void exited.then(() => (gone = true));
  await waitFor(() => listening !== undefined || gone, "the listening log line", 15_000);
  if (!listening) throw new Error(`skein exited before listening: ${stderr}`);
  expect(listening.store).toBe("sqlite");
  return { child, exited, mqtt: listening.mqtt as number, http: listening.http as number };
}

/** A seeded generator of numbers in [0, 1) (mulberry32). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("skein on a data directory", () => {
  it("refuses a data directory another running server holds, with one line, exit non-zero", async () => {
    const dataDir = newDir();
    const first = await start(dataDir);
    const second = await run(["--mqtt-port", "0", "--http-port", "0", "--data-dir", dataDir]);
    expect(second.code).not.toBe(0);
    expect(second.stderr.trim().split("\n")).toHaveLength(1);
    expect(second.stderr).toContain("in use by another running Skein");
    expect(second.stderr).toContain(join(dataDir, "skein.lock"));
    first.child.kill("SIGTERM");
    expect(await first.exited).toBe(0);
  });

  it("refuses a corrupt database with one line naming it, and leaves it as it was", async () => {
    const dataDir = newDir();
    execFileSync("mkdir", ["-p", dataDir]);
    const file = join(dataDir, "skein.db");
    const garbage = Buffer.alloc(8192, 0x5a);
    writeFileSync(file, garbage);
    const result = await run(["--mqtt-port", "0", "--http-port", "0", "--data-dir", dataDir]);
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split("\n")).toHaveLength(1);
    expect(result.stderr).toContain(file);
    expect(readFileSync(file).equals(garbage)).toBe(true);
  });

  it("commits on SIGTERM and releases the lock; backs up while running; a server on the copy has the data", async () => {
    const dataDir = newDir();
    const skein = await start(dataDir);
    const client = await connectClient(`mqtt://127.0.0.1:${skein.mqtt}`, { protocolVersion: 5 });
    await client.publishAsync("b/kept", "before backup", { qos: 1, retain: true });
    const backup = join(workDir, "backup.db");
    const result = await run(["backup", backup, "--data-dir", dataDir]);
    expect(result).toMatchObject({ code: 0 });
    await client.publishAsync("b/after", "after backup", { qos: 1, retain: true });
    await client.endAsync();
    skein.child.kill("SIGTERM");
    expect(await skein.exited).toBe(0);
    expect(existsSync(join(dataDir, "skein.lock"))).toBe(false);

    // Restore: the copy as skein.db of a new data directory.
    const restored = newDir();
    execFileSync("mkdir", ["-p", restored]);
    copyFileSync(backup, join(restored, "skein.db"));
    const again = await start(restored);
    const reader = await connectClient(`mqtt://127.0.0.1:${again.mqtt}`, { protocolVersion: 4 });
    const got: string[] = [];
    reader.on("message", (topic, payload) => got.push(`${topic}=${payload.toString()}`));
    await reader.subscribeAsync("b/#", { qos: 1 });
    await waitFor(() => got.length >= 1, "the retained value");
    // A later value, on the original directory only, shows the copy is the backup's moment.
    const original = await start(dataDir);
    const reader2 = await connectClient(`mqtt://127.0.0.1:${original.mqtt}`, { protocolVersion: 4 });
    const got2: string[] = [];
    reader2.on("message", (topic, payload) => got2.push(`${topic}=${payload.toString()}`));
    await reader2.subscribeAsync("b/#", { qos: 1 });
    await waitFor(() => got2.length >= 2, "both retained values");
    expect(got).toEqual(["b/kept=before backup"]);
    expect(got2.sort()).toEqual(["b/after=after backup", "b/kept=before backup"]);
    await reader.endAsync();
    await reader2.endAsync();
  }, 60_000);

  for (const seed of [1, 2]) {
    it(`keeps every acknowledged value when killed with SIGKILL under load (seed ${seed})`, async () => {
      const random = seeded(seed);
      const dataDir = newDir();
      const skein = await start(dataDir);
      const chains = 8;
      // Each chain writes rising numbers to its own topic, one at a time, and notes what was acknowledged.
      const acked = { sdk: new Array<number>(chains).fill(-1), mqtt: new Array<number>(chains).fill(-1) };
      const sent = { sdk: new Array<number>(chains).fill(-1), mqtt: new Array<number>(chains).fill(-1) };
      const killAfter = 100 + Math.floor(random() * 400); // acknowledgements before the kill
      let total = 0;
      let killed = false;
      const kill = (): void => {
        if (killed || ++total < killAfter) return;
        killed = true;
        skein.child.kill("SIGKILL");
      };
      const session = await connect(`ws://127.0.0.1:${skein.http}/sdk`, { reconnect: false });
      const mqttClient = await connectClient(`mqtt://127.0.0.1:${skein.mqtt}`, { protocolVersion: 5 });
      mqttClient.on("error", () => {});
      const sdkChain = async (k: number): Promise<void> => {
        for (let i = 0; !killed && i < 100_000; i++) {
          sent.sdk[k] = i;
          await session.topics.addAndSet(`crash/sdk/${k}`, { type: "int64" }, BigInt(i));
          acked.sdk[k] = i;
          kill();
        }
      };
      const mqttChain = async (k: number): Promise<void> => {
        for (let i = 0; !killed && i < 100_000; i++) {
          sent.mqtt[k] = i;
          await mqttClient.publishAsync(`crash/mqtt/${k}`, String(i), { qos: 1, retain: true });
          acked.mqtt[k] = i;
          kill();
        }
      };
      const chainsDone = Promise.allSettled([
        ...Array.from({ length: chains }, (_, k) => sdkChain(k)),
        ...Array.from({ length: chains }, (_, k) => mqttChain(k)),
      ]);
      await skein.exited;
      killed = true;
      mqttClient.end(true);
      void session.close().catch(() => {});
      await chainsDone;

      const again = await start(dataDir);
      const reader = await connect(`ws://127.0.0.1:${again.http}/sdk`, { reconnect: false });
      try {
        const { topics } = await reader.fetch("?crash/sdk//", { withValues: true, first: 100 });
        const sdkValues = new Map(topics.map((t) => [t.path, Number(t.value as bigint)]));
        for (let k = 0; k < chains; k++) {
          if (acked.sdk[k]! < 0) continue;
          const v = sdkValues.get(`crash/sdk/${k}`);
          expect(v, `crash/sdk/${k}`).toBeGreaterThanOrEqual(acked.sdk[k]!);
          expect(v).toBeLessThanOrEqual(sent.sdk[k]!);
        }
      } finally {
        await reader.close();
      }
      const sub = await connectClient(`mqtt://127.0.0.1:${again.mqtt}`, { protocolVersion: 4 });
      const retained = new Map<string, number>();
      sub.on("message", (topic, payload) => retained.set(topic, Number(payload.toString())));
      await sub.subscribeAsync("crash/mqtt/#", { qos: 1 });
      const expected = acked.mqtt.filter((v) => v >= 0).length;
      await waitFor(() => retained.size >= expected, "the retained values");
      for (let k = 0; k < chains; k++) {
        if (acked.mqtt[k]! < 0) continue;
        const v = retained.get(`crash/mqtt/${k}`);
        expect(v, `crash/mqtt/${k}`).toBeGreaterThanOrEqual(acked.mqtt[k]!);
        expect(v).toBeLessThanOrEqual(sent.mqtt[k]!);
      }
      await sub.endAsync();
    }, 60_000);
  }
});
