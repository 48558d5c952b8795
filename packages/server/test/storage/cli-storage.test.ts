/**
 * The `skein` CLI keeps its data (issue 9): the built `dist/cli.js` in child processes, each on its own
 * temporary data directory. Start-up refusals (a directory another server holds, a corrupt database)
 * print one line and exit non-zero; SIGTERM commits and releases the lock; `skein backup FILE` copies
 * the database of a running server, and a server started on the copy has the data. (The crash tests,
 * SIGKILL under load, are `*-crash.test.ts`.)
 */
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectClient, waitFor } from "../helpers.js";
import { CLI, type RunningCli, buildCli, cliEnv, killClis, startCli } from "../built-cli.js";

let workDir: string;
let dirs = 0;
const newDir = (): string => join(workDir, `data-${++dirs}`);

beforeAll(() => {
  buildCli();
  workDir = mkdtempSync(join(tmpdir(), "skein-cli-storage-"));
}, 120_000);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));
afterEach(killClis);

/** Runs the CLI to completion. */
function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const options = { cwd: workDir, env: cliEnv(), encoding: "utf8", timeout: 20_000 } as const;
    execFile(process.execPath, [CLI, ...args], options, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Starts the CLI (default store: sqlite) on `dataDir` and free ports. */
async function start(dataDir: string): Promise<RunningCli> {
  const running = await startCli(["--data-dir", dataDir], workDir);
  expect(running.listening.store).toBe("sqlite");
  return running;
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
    const client = await connectClient(skein.mqttUrl, { protocolVersion: 5 });
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
    const reader = await connectClient(again.mqttUrl, { protocolVersion: 4 });
    const got: string[] = [];
    reader.on("message", (topic, payload) => got.push(`${topic}=${payload.toString()}`));
    await reader.subscribeAsync("b/#", { qos: 1 });
    await waitFor(() => got.length >= 1, "the retained value");
    // A later value, on the original directory only, shows the copy is the backup's moment.
    const original = await start(dataDir);
    const reader2 = await connectClient(original.mqttUrl, { protocolVersion: 4 });
    const got2: string[] = [];
    reader2.on("message", (topic, payload) => got2.push(`${topic}=${payload.toString()}`));
    await reader2.subscribeAsync("b/#", { qos: 1 });
    await waitFor(() => got2.length >= 2, "both retained values");
    expect(got).toEqual(["b/kept=before backup"]);
    expect(got2.sort()).toEqual(["b/after=after backup", "b/kept=before backup"]);
    await reader.endAsync();
    await reader2.endAsync();
  }, 60_000);
});
