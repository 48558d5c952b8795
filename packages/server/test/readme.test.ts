/**
 * The README runs top to bottom: every `sh` and `js` snippet of README.md, in order, against one fresh
 * server (started here on free ports; the snippets' default ports 1883 and 8080 are rewritten to
 * them). A snippet preceded by `<!-- readme.test.ts: not run (why) -->` is skipped (`npm start`,
 * `npm test`).
 *
 * Shell snippets run in bash and must exit 0 (what they start in the background, like
 * `mosquitto_sub ... &`, keeps running and printing). JavaScript snippets run with node from a file in
 * this repository, so `mqtt` and `@skein/sdk` resolve to the workspace packages (built by `npm test`
 * first); one either exits 0 or keeps running until it has printed what {@link EXPECTED} says it must.
 * Everything started is killed at the end.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type TestServer, startServer } from "./helpers.js";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const SKIP = /^<!--\s*readme\.test\.ts:\s*not run\b/;

/** One fenced snippet of the README. */
interface Snippet {
  lang: "sh" | "js";
  code: string;
  line: number;
}

/** What a long-running JavaScript snippet must print (matched by a line of its code). */
const EXPECTED: { code: RegExp; prints: string[] }[] = [
  { code: /mqtt\.connectAsync/, prints: ["sensors/room1/temp 21.5"] },
  { code: /from "@skein\/sdk"/, prints: ["sensors/room2/temp undefined -> 21.5"] },
];

/** What the background `mosquitto_sub` prints once every snippet ran. */
const SUBSCRIBER_PRINTS = [
  "sensors/room1/temp 21.5",
  'sensors/room1/meta {"floor":1}',
  "sensors/room2/temp 21.5",
];

function snippets(markdown: string): Snippet[] {
  const lines = markdown.split("\n");
  const found: Snippet[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w+)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) throw new Error(`README.md:${i + 1}: unclosed code block`);
    let before = i - 1;
    while (before >= 0 && lines[before]!.trim() === "") before--;
    const lang = open[1];
    if ((lang === "sh" || lang === "js") && !(before >= 0 && SKIP.test(lines[before]!))) {
      found.push({ lang, code: lines.slice(i + 1, end).join("\n") + "\n", line: i + 1 });
    }
    i = end;
  }
  return found;
}

/** A started snippet: its output so far, and how it ended (undefined while it runs). */
interface Running {
  child: ChildProcess;
  output: () => string;
  exit: Promise<number | null>;
}

function start(command: string, args: string[], cwd: string): Running {
  // Its own process group, so that what a shell snippet starts in the background is killed with it.
  const child = spawn(command, args, { cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exit = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, output: () => out, exit };
}

function hasCommand(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("README.md", () => {
  const started: Running[] = [];
  let server: TestServer;
  let dir: string;

  beforeAll(async () => {
    server = await startServer();
    mkdirSync(join(ROOT, "node_modules", ".cache"), { recursive: true });
    dir = mkdtempSync(join(ROOT, "node_modules", ".cache", "readme-test-"));
  });

  afterAll(async () => {
    for (const r of started) {
      try {
        process.kill(-r.child.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("runs every snippet in order against one fresh server", { timeout: 60_000 }, async () => {
    if (!hasCommand("mosquitto_pub") || !hasCommand("mosquitto_sub")) {
      throw new Error(
        "mosquitto_pub/mosquitto_sub not found: install them with `apt-get install -y mosquitto-clients` (.ci/run does)",
      );
    }
    const all = snippets(readFileSync(join(ROOT, "README.md"), "utf8"));
    expect(all.map((s) => s.lang)).toEqual(["sh", "js", "js", "js"]);
    const ports = (code: string): string =>
      code
        .replace(/\b1883\b/g, String(server.addresses.mqtt))
        .replace(/\b8080\b/g, String(server.addresses.http));

    let subscriber: Running | undefined;
    for (const [index, snippet] of all.entries()) {
      const where = `README.md:${snippet.line}`;
      const code = ports(snippet.code);
      if (snippet.lang === "sh") {
        const run = start("bash", ["-e", "-c", code], ROOT);
        started.push(run);
        if (code.includes("mosquitto_sub")) subscriber = run;
        expect(await run.exit, `${where} failed:\n${run.output()}`).toBe(0);
        continue;
      }
      const file = join(dir, `snippet-${index}.mjs`);
      writeFileSync(file, code);
      const run = start(process.execPath, [file], dir);
      started.push(run);
      const expected = EXPECTED.find((e) => e.code.test(code));
      if (expected) {
        // It keeps running: wait for what it must print, or fail at once if it exits first.
        let waiting = true;
        const exited = run.exit.then((c) => {
          if (waiting) throw new Error(`${where} exited (${c}) before printing:\n${run.output()}`);
        });
        const printed = vi.waitFor(
          () => {
            for (const line of expected.prints) expect(run.output(), where).toContain(line);
          },
          { timeout: 20_000, interval: 20 },
        );
        try {
          await Promise.race([printed, exited]);
        } finally {
          waiting = false;
        }
      } else {
        expect(await run.exit, `${where} failed:\n${run.output()}`).toBe(0);
      }
    }
    expect(subscriber, "a shell snippet starts mosquitto_sub").toBeDefined();
    await vi.waitFor(
      () => {
        for (const line of SUBSCRIBER_PRINTS) expect(subscriber!.output()).toContain(line);
      },
      { timeout: 20_000, interval: 20 },
    );
  });
});
