/**
 * The safe default as a user meets it (issue 14 §2): `skein --host 0.0.0.0` with no
 * `security.anonymous` exits before it listens, with one line saying why (the lesson of Mosquitto 2.0).
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { CLI, buildCli } from "../built-cli.js";

let workDir: string;

beforeAll(() => {
  buildCli();
  workDir = mkdtempSync(join(tmpdir(), "skein-security-cli-"));
}, 120_000);

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

it("refuses a non-loopback bind without security.anonymous, in one line, without listening", async () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SKEIN_")));
  const args = [CLI, "--host", "0.0.0.0", "--data-dir", join(workDir, "data")];
  // Ports that would clash with nothing: the process must exit before binding any of them.
  args.push("--mqtt-port", "0", "--mqtts-port", "off", "--http-port", "0", "--https-port", "off");
  const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(process.execPath, args, { env, cwd: workDir, encoding: "utf8", timeout: 10_000 }, (err, _o, e) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, stderr: e }),
    ),
  );
  expect(code).toBe(2);
  const lines = stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/0\.0\.0\.0 is not a loopback address and security\.anonymous is not set/);
  expect(stderr).not.toContain("listening");
});
