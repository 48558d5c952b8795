/**
 * The packages as a user gets them: `npm pack` of @skein/sdk and @skein/server, each tarball installed
 * into an empty directory with nothing else (the protocol package travels inside each as a bundled
 * dependency; everything else comes from the npm registry, or its cache: `--prefer-offline`), then the
 * installed `skein --help` and a short program that starts the installed server and connects the
 * installed SDK to it. And `npx skein` in this repository (node_modules/.bin/skein).
 *
 * It packs from a staged copy of the built packages (same layout, same prepack/postpack hooks), never
 * in the workspace itself: the prepack hook puts a copy of the protocol package in the package's own
 * node_modules/, where other test files running at the same time would pick it up.
 *
 * Uses the build `npm test` makes first (`npm run build`).
 */
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const TIMEOUT_MS = 180_000;

/** The environment without npm's per-run variables (an `npm test` parent sets workspace, prefix, ...). */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.toLowerCase().startsWith("npm_") && !k.startsWith("SKEIN_"),
    ),
  );
}

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd,
    env: cleanEnv(),
    timeout: TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout;
}

/** Copies what `npm pack` of `pkg` reads (its manifest, built code, bin) into the staging tree. */
function stage(stageRoot: string, pkg: string, parts: string[]): void {
  const from = join(ROOT, "packages", pkg);
  const to = join(stageRoot, "packages", pkg);
  mkdirSync(to, { recursive: true });
  for (const part of ["package.json", ...parts]) {
    if (existsSync(join(from, part))) {
      cpSync(join(from, part), join(to, part), {
        recursive: true,
        filter: (src) => !src.includes("node_modules"),
      });
    }
  }
}

describe("packages a user can install", () => {
  let work: string;
  let app: string;

  beforeAll(async () => {
    for (const pkg of ["protocol", "sdk", "server"]) {
      if (!existsSync(join(ROOT, "packages", pkg, "dist", "index.js"))) {
        throw new Error(`packages/${pkg}/dist is missing: run \`npm run build\` first (npm test does)`);
      }
    }
    work = mkdtempSync(join(tmpdir(), "skein-packaging-"));
    const stageRoot = join(work, "repo");
    mkdirSync(join(stageRoot, "scripts"), { recursive: true });
    cpSync(join(ROOT, "scripts", "bundle-protocol.mjs"), join(stageRoot, "scripts", "bundle-protocol.mjs"));
    stage(stageRoot, "protocol", ["dist"]);
    stage(stageRoot, "sdk", ["dist", "src", "README.md"]);
    stage(stageRoot, "server", ["dist", "src", "bin", "console", "README.md"]);
    const tarballs = join(work, "tarballs");
    mkdirSync(tarballs);
    for (const pkg of ["sdk", "server"]) {
      await npm(["pack", "--pack-destination", tarballs], join(stageRoot, "packages", pkg));
    }
    app = join(work, "app");
    mkdirSync(app);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    const files = readdirSync(tarballs).map((f) => join(tarballs, f));
    // better-sqlite3's install script compiles SQLite from source when no prebuilt binary can be
    // fetched (as here): minutes, for a native module this repository's install has already built for
    // this very Node. So the install skips scripts and takes that build instead; what is tested is the
    // packaging, not node-gyp. (msgpackr's native part comes prebuilt in an optional package, no script.)
    await npm(["install", "--prefer-offline", "--ignore-scripts", ...files], app);
    const sqliteBuild = join("node_modules", "better-sqlite3", "build", "Release");
    cpSync(join(ROOT, sqliteBuild, "better_sqlite3.node"), join(app, sqliteBuild, "better_sqlite3.node"));
  }, TIMEOUT_MS);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("installs both tarballs with the protocol package inside each", () => {
    for (const pkg of ["sdk", "server"]) {
      const bundled = join(
        app,
        "node_modules",
        "@skein",
        pkg,
        "node_modules",
        "@skein",
        "protocol",
        "dist",
        "index.js",
      );
      expect(existsSync(bundled), `${pkg} bundles @skein/protocol`).toBe(true);
    }
  });

  it(
    "runs the installed skein --help",
    async () => {
      const { stdout } = await run(join(app, "node_modules", ".bin", "skein"), ["--help"], {
        cwd: app,
        env: cleanEnv(),
        timeout: 30_000,
      });
      expect(stdout).toContain("Usage: skein [options]");
    },
    TIMEOUT_MS,
  );

  it(
    "connects the installed SDK to the installed server",
    async () => {
      writeFileSync(
        join(app, "main.js"),
        `import { createServer } from "@skein/server";
import { connect } from "@skein/sdk";

const server = createServer({
  host: "127.0.0.1",
  logLevel: "silent",
  mqtt: { port: 0, tlsPort: false },
  http: { port: 0, tlsPort: false },
});
const { http } = await server.listen();
const session = await connect(\`ws://127.0.0.1:\${http}/sdk\`);
await session.topics.add("app/greeting", { type: "string" });
await session.set("app/greeting", "string", "hello");
const topic = server.getTopic("app/greeting");
// The web console ships in the package: its page and the modules it imports.
const served = [];
for (const file of ["", "app.js", "vendor/skein-sdk.browser.js", "vendor/preact.module.js", "vendor/uPlot.esm.js"]) {
  served.push((await fetch(\`http://127.0.0.1:\${http}/console/\${file}\`)).status);
}
console.log(JSON.stringify({ type: topic?.spec.type, value: Buffer.from(topic?.value ?? []).toString(), served }));
await session.close();
await server.close();
`,
      );
      const { stdout } = await run(process.execPath, ["main.js"], {
        cwd: app,
        env: cleanEnv(),
        timeout: 30_000,
      });
      expect(JSON.parse(stdout)).toEqual({
        type: "string",
        value: "hello",
        served: [200, 200, 200, 200, 200],
      });
    },
    TIMEOUT_MS,
  );

  it(
    "runs npx skein in this repository",
    async () => {
      const { stdout } = await run(join(ROOT, "node_modules", ".bin", "skein"), ["--help"], {
        cwd: ROOT,
        env: cleanEnv(),
        timeout: 30_000,
      });
      expect(stdout).toContain("Usage: skein [options]");
    },
    TIMEOUT_MS,
  );
});
