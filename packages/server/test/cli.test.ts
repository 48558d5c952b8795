/**
 * The `skein` command as users run it: the built `dist/cli.js` in a child process. Help, the resolved
 * configuration and its precedence (flags > environment > file > defaults), readable errors for bad
 * values, and a graceful SIGTERM: wills of live connections published first, then DISCONNECT 0x8B
 * (Server shutting down) to v5 clients, then exit 0.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { IDisconnectPacket, MqttClient } from "mqtt";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { connectClient, waitFor } from "./helpers.js";
import { CLI, buildCli } from "./built-cli.js";

/** The environment without any SKEIN_* variable of the developer's, plus `extra`. */
function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SKEIN_")));
  return { ...clean, ...extra };
}

let workDir: string;

/** Writes a JSON config file into the work directory and returns its path. */
function configFile(name: string, content: unknown): string {
  const path = join(workDir, name);
  writeFileSync(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

/** Runs the CLI to completion. */
function run(
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const options = { cwd: workDir, env: env(extraEnv), encoding: "utf8", timeout: 10_000 } as const;
    execFile(process.execPath, [CLI, ...args], options, (err, stdout, stderr) => {
      resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr });
    });
  });
}

beforeAll(() => {
  // Test what users run: the build output, built fresh.
  buildCli();
  workDir = mkdtempSync(join(tmpdir(), "skein-cli-"));
}, 120_000);

afterAll(() => rmSync(workDir, { recursive: true, force: true }));

describe.concurrent("skein --help and --print-config", () => {
  it("--help exits 0 and lists every flag", async ({ expect }) => {
    const { code, stdout } = await run(["--help"]);
    expect(code).toBe(0);
    for (const flag of [
      "--host",
      "--mqtt-port",
      "--mqtts-port",
      "--http-port",
      "--https-port",
      "--tls-cert",
      "--tls-key",
      "--config",
      "--data-dir",
      "--log-level",
      "--print-config",
      "--help",
    ]) {
      expect(stdout).toContain(flag);
    }
    expect(stdout).toContain("SKEIN_MQTT_PORT");
  });

  it("prints the defaults with no configuration", async ({ expect }) => {
    const { code, stdout } = await run(["--print-config"]);
    expect(code).toBe(0);
    const config = JSON.parse(stdout);
    expect(config).toMatchObject({
      host: "127.0.0.1",
      logLevel: "info",
      mqtt: { port: 1883 },
      http: { port: 8080 },
    });
  });

  it("takes flags over the environment over the file over the defaults", async ({ expect }) => {
    const file = configFile("precedence.json", {
      logLevel: "warn",
      mqtt: { port: 1001, tlsPort: 1003 },
      http: { port: 1002 },
    });
    const { code, stdout, stderr } = await run(
      ["--print-config", "--mqtt-port", "3001", "--log-level", "error"],
      {
        SKEIN_CONFIG: file,
        SKEIN_MQTT_PORT: "2001",
        SKEIN_HTTP_PORT: "2002",
        SKEIN_HOST: "0.0.0.0",
      },
    );
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const config = JSON.parse(stdout);
    expect(config.mqtt.port).toBe(3001); // flag, over env 2001 and file 1001
    expect(config.logLevel).toBe("error"); // flag, over file "warn"
    expect(config.http.port).toBe(2002); // env, over file 1002
    expect(config.host).toBe("0.0.0.0"); // env, over the default
    expect(config.mqtt.tlsPort).toBe(1003); // file, over the default
    expect(config.http.tlsPort).toBe(8443); // default
    expect(config.mqtt.maxPacketSize).toBe(1024 * 1024); // default
  });

  it("takes --config over SKEIN_CONFIG, and reads `off` as a disabled listener", async ({ expect }) => {
    const fromFlag = configFile("flag.json", { mqtt: { port: 4001 } });
    const fromEnv = configFile("env.json", { mqtt: { port: 4002 } });
    const { code, stdout } = await run(["--print-config", "--config", fromFlag, "--http-port", "off"], {
      SKEIN_CONFIG: fromEnv,
    });
    expect(code).toBe(0);
    const config = JSON.parse(stdout);
    expect(config.mqtt.port).toBe(4001);
    expect(config.http.port).toBe(false);
  });
});

describe.concurrent("skein with bad configuration", () => {
  it.for([
    {
      what: "a flag port that is not a number",
      args: ["--mqtt-port", "abc"],
      names: ["--mqtt-port", '"abc"'],
    },
    { what: "a port out of range", args: ["--mqtt-port", "70000"], names: ["mqtt.port"] },
    {
      what: "an environment port that is not a number",
      env: { SKEIN_MQTT_PORT: "abc" },
      names: ["SKEIN_MQTT_PORT"],
    },
    { what: "an unknown log level", env: { SKEIN_LOG_LEVEL: "loud" }, names: ["logLevel"] },
    { what: "an unknown flag", args: ["--mqtt-prot", "1"], names: ["--mqtt-prot", "--help"] },
    { what: "a negative port in the file", file: { mqtt: { port: -1 } }, names: ["mqtt.port"] },
    { what: "an unknown key in the file", file: { mqtt: { bogus: 1 } }, names: ["mqtt", '"bogus"'] },
    { what: "an unknown top-level key in the file", file: { mqttt: {} }, names: ['"mqttt"'] },
    { what: "a file that is not JSON", file: "{ mqtt: ", names: ["cannot read config file", "JSON"] },
    {
      what: "a file that does not exist",
      args: ["--config", "/nonexistent/skein.json"],
      names: ["/nonexistent/skein.json"],
    },
  ] as { what: string; args?: string[]; env?: Record<string, string>; file?: unknown; names: string[] }[])(
    "exits non-zero naming the problem: $what",
    async ({ what, args = [], env: extraEnv, file, names }, { expect }) => {
      const fileArgs =
        file === undefined ? [] : ["--config", configFile(`${what.replace(/\W+/g, "-")}.json`, file)];
      const { code, stdout, stderr } = await run([...args, ...fileArgs, "--print-config"], extraEnv);
      expect(code).not.toBe(0);
      expect(stdout).toBe("");
      expect(stderr).toMatch(/^skein: /);
      for (const name of names) expect(stderr).toContain(name);
    },
  );
});

/** A running CLI process and its pino log lines. */
interface Running {
  child: ChildProcess;
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
  ports: { mqtt: number; http: number };
}

const children = new Set<ChildProcess>();

let dataDirs = 0;

/**
 * Starts the CLI on free ports and waits for its "skein listening" log line. Each run has its own data
 * directory: the CLI's sqlite store locks it, and a server killed by the previous test may not be
 * gone yet.
 */
async function start(): Promise<Running> {
  const dataDir = join(workDir, `data-${++dataDirs}`);
  const child = spawn(
    process.execPath,
    [CLI, "--mqtt-port", "0", "--http-port", "0", "--log-level", "info", "--data-dir", dataDir],
    {
      cwd: workDir,
      env: env(),
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  children.add(child);
  const logs: Record<string, unknown>[] = [];
  let partial = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop()!;
    for (const line of lines) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await waitFor(() => logs.some((l) => l.msg === "skein listening"), "the listening log line", 10_000);
  const listening = logs.find((l) => l.msg === "skein listening")!;
  return { child, logs, exited, ports: { mqtt: listening.mqtt as number, http: listening.http as number } };
}

afterEach(() => {
  for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
  children.clear();
});

describe("skein running", () => {
  it("logs its ports, then on SIGTERM sends DISCONNECT 0x8B to v5 clients and exits 0", async () => {
    const skein = await start();
    expect(skein.ports.mqtt).toBeGreaterThan(0);
    expect(skein.ports.http).toBeGreaterThan(0);
    const client = await connectClient(`mqtt://127.0.0.1:${skein.ports.mqtt}`, { protocolVersion: 5 });
    const disconnects: IDisconnectPacket[] = [];
    client.on("disconnect", (packet) => disconnects.push(packet));
    await client.publishAsync("cli/hello", "world", { qos: 1 }); // served before the signal

    skein.child.kill("SIGTERM");
    expect(await skein.exited).toBe(0);
    await waitFor(() => disconnects.length === 1, "DISCONNECT");
    expect(disconnects[0]!.reasonCode).toBe(0x8b);
    expect(skein.logs.some((l) => l.msg === "skein stopped")).toBe(true);
    client.end(true);
  });

  it("publishes the will of a live client to a connected subscriber before disconnecting it", async () => {
    const skein = await start();
    const url = `mqtt://127.0.0.1:${skein.ports.mqtt}`;
    const subscriber = await connectClient(url, { protocolVersion: 5 });
    await subscriber.subscribeAsync("wills/#", { qos: 1 });
    const willing: MqttClient = await connectClient(url, {
      protocolVersion: 5,
      will: { topic: "wills/willing", payload: Buffer.from("gone"), qos: 1, retain: false },
    });
    // What the subscriber sees, in order: the will, then the server's DISCONNECT.
    const events: string[] = [];
    subscriber.on("message", (topic, payload) => events.push(`message ${topic} ${payload.toString()}`));
    subscriber.on("disconnect", (packet) =>
      events.push(`disconnect 0x${(packet.reasonCode ?? 0).toString(16)}`),
    );

    skein.child.kill("SIGTERM");
    expect(await skein.exited).toBe(0);
    await waitFor(() => events.length === 2, "the will and the DISCONNECT");
    expect(events).toEqual(["message wills/willing gone", "disconnect 0x8b"]);
    subscriber.end(true);
    willing.end(true);
  });
});
