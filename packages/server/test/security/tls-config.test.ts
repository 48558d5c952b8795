/**
 * Half a TLS configuration is a start-up error with one clear line (issue 14 §3): `createServer()`
 * throws a ConfigError, and the `skein` command exits with status 2 and one line on stderr, instead of
 * silently starting without TLS. A PEM file that cannot be read stops `listen()` the same way.
 */
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ConfigError, createServer } from "../../src/index.js";
import { CLI, buildCli } from "../built-cli.js";

const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));
const cert = fixture("cert.pem");
const key = fixture("key.pem");

let workDir: string;
beforeAll(() => {
  buildCli();
  workDir = mkdtempSync(join(tmpdir(), "skein-tls-config-"));
}, 120_000);
afterAll(() => rmSync(workDir, { recursive: true, force: true }));

function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SKEIN_")));
  return new Promise((resolve) => {
    const options = { cwd: workDir, env, encoding: "utf8", timeout: 10_000 } as const;
    execFile(process.execPath, [CLI, "--store", "memory", ...args], options, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe("half a TLS configuration", () => {
  it.each([
    [{ cert }, "tls.key: missing while tls.cert is set"],
    [{ key }, "tls.cert: missing while tls.key is set"],
    [{ ca: cert }, "tls.cert: missing while tls.ca is set"],
  ])("createServer(%o) throws a ConfigError naming what is missing", (tls, message) => {
    let error: unknown;
    try {
      createServer({ tls, logLevel: "silent" });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message.split("\n")).toHaveLength(1);
  });

  it.each([
    [["--tls-cert", cert], "tls.key: missing while tls.cert is set"],
    [["--tls-key", key], "tls.cert: missing while tls.key is set"],
    [["--tls-ca", cert], "tls.cert: missing while tls.ca is set"],
  ])("skein %s exits 2 with one line", async (args, message) => {
    const { code, stderr } = await run([...args, "--mqtt-port", "0", "--http-port", "0"]);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain(message);
  });

  it("a PEM file that cannot be read stops listen() with a ConfigError naming it", async () => {
    const missing = join(workDir, "missing.pem");
    const server = createServer({
      tls: { cert: missing, key },
      mqtt: { port: 0, tlsPort: 0 },
      http: { port: 0, tlsPort: 0 },
      logLevel: "silent",
    });
    const error = await server.listen().then(
      () => undefined,
      (err: unknown) => err,
    );
    await server.close();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain(`tls.cert: cannot read ${missing}`);
  });

  it("skein with a PEM file that cannot be read exits 2 naming it", async () => {
    const missing = join(workDir, "missing.pem");
    const { code, stderr } = await run(["--tls-cert", missing, "--tls-key", key, "--mqtt-port", "0"]);
    expect(code).toBe(2);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(stderr).toContain(`tls.cert: cannot read ${missing}`);
  });
});
