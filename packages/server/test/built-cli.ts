/**
 * The `skein` command as users run it: the build output, built fresh by the tests that start it as a
 * child process, and a launcher for those tests.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "./helpers.js";

/** The repository's root. */
export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
/** The built CLI (`skein`). */
export const CLI = join(ROOT, "packages/server/dist/cli.js");

/** Builds the packages (`tsc -b`), so that `dist/cli.js` is not stale; throws with the compiler's output. */
export function buildCli(): void {
  try {
    execFileSync("npx", ["tsc", "-b"], { cwd: ROOT, stdio: "pipe", encoding: "utf8" });
  } catch (err) {
    const output = (err as { stdout?: string }).stdout;
    throw new Error(`npx tsc -b failed, dist/cli.js would be stale:\n${output}`, { cause: err });
  }
}

/** The environment without any SKEIN_* variable of the developer's, plus `extra`. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("SKEIN_")));
  return { ...clean, ...extra };
}

/** A `skein` child process that logged its listening line. */
export interface RunningCli {
  readonly child: ChildProcess;
  /** Its exit code once it exits (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Its pino log lines so far. */
  readonly logs: Record<string, unknown>[];
  /** The listening line (its ports, its store). */
  readonly listening: Record<string, unknown>;
  readonly mqttUrl: string;
  readonly sdkUrl: string;
  /** What it wrote to stderr so far. */
  stderr(): string;
}

const running = new Set<ChildProcess>();

/**
 * Starts the built CLI with `args` (after `--mqtt-port 0 --http-port 0 --log-level info`, so free
 * ports) in `cwd`, and waits for its "skein listening" log line; throws with its stderr when it exits
 * first. Stop what is left with {@link killClis} after each test.
 */
export async function startCli(
  args: readonly string[],
  cwd: string,
  timeoutMs = 15_000,
): Promise<RunningCli> {
  const child = spawn(
    process.execPath,
    [CLI, "--mqtt-port", "0", "--http-port", "0", "--log-level", "info", ...args],
    { cwd, env: cliEnv(), stdio: ["ignore", "pipe", "pipe"] },
  );
  running.add(child);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const logs: Record<string, unknown>[] = [];
  let partial = "";
  let stderr = "";
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    const lines = (partial + chunk).split("\n");
    partial = lines.pop()!;
    for (const line of lines) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  let gone = false;
  void exited.then(() => (gone = true));
  const find = (): Record<string, unknown> | undefined => logs.find((l) => l.msg === "skein listening");
  await waitFor(() => find() !== undefined || gone, "the listening log line", timeoutMs);
  const listening = find();
  if (listening === undefined) throw new Error(`skein exited before listening: ${stderr}`);
  return {
    child,
    exited,
    logs,
    listening,
    mqttUrl: `mqtt://127.0.0.1:${listening.mqtt as number}`,
    sdkUrl: `ws://127.0.0.1:${listening.http as number}/sdk`,
    stderr: () => stderr,
  };
}

/** Kills (SIGKILL) every CLI {@link startCli} started that still runs. */
export function killClis(): void {
  for (const child of running)
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  running.clear();
}
