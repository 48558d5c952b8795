#!/usr/bin/env node
// Bundles @skein/protocol into the tarball of @skein/sdk or @skein/server (their `prepack` and
// `postpack` scripts run this with the package directory as the working directory).
//
// @skein/protocol is not published on its own: each tarball carries a copy of it as a bundled
// dependency (`bundleDependencies` in package.json), so `npm install ./skein-sdk-0.1.0.tgz` works in an
// empty directory. npm bundles what it finds in the package's own node_modules/, but in this
// workspace the protocol package is a symlink in the root node_modules/, so `add` copies its
// package.json and dist/ into <package>/node_modules/@skein/protocol before packing and `remove`
// deletes the copy afterwards (it would otherwise shadow the workspace's protocol package). The root
// `build` script runs `remove` too, so a pack that failed half-way cannot leave a stale copy behind.
//
// Usage: node scripts/bundle-protocol.mjs add|remove [packageDir]
import {
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  rmdirSync,
  writeFileSync,
} from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const [action, dir = process.cwd()] = process.argv.slice(2);
const protocolDir = fileURLToPath(new URL("../packages/protocol/", import.meta.url));

/** The package directories that bundle the protocol. */
const BUNDLERS = ["packages/sdk", "packages/server"].map((p) =>
  fileURLToPath(new URL(`../${p}/`, import.meta.url)),
);

function target(packageDir) {
  return join(resolve(packageDir), "node_modules", "@skein", "protocol");
}

function remove(packageDir) {
  rmSync(target(packageDir), { recursive: true, force: true });
  // And the directories the copy needed, when nothing else is in them.
  for (const d of [
    join(resolve(packageDir), "node_modules", "@skein"),
    join(resolve(packageDir), "node_modules"),
  ]) {
    if (existsSync(d) && readdirSync(d).length === 0) rmdirSync(d);
  }
}

function add(packageDir) {
  if (!existsSync(join(protocolDir, "dist", "index.js"))) {
    console.error("bundle-protocol: packages/protocol/dist is missing: run `npm run build` first");
    process.exit(1);
  }
  const to = target(packageDir);
  remove(packageDir);
  mkdirSync(to, { recursive: true });
  const manifest = JSON.parse(readFileSync(join(protocolDir, "package.json"), "utf8"));
  // The copy is built code only: no workspace-only export condition pointing at sources it lacks.
  for (const entry of Object.values(manifest.exports ?? {})) delete entry["skein-source"];
  manifest.files = ["dist"];
  writeFileSync(join(to, "package.json"), JSON.stringify(manifest, null, 2) + "\n");
  cpSync(join(protocolDir, "dist"), join(to, "dist"), {
    recursive: true,
    // Source maps point at sources the copy does not carry.
    filter: (src) => !src.endsWith(".tsbuildinfo") && !src.endsWith(".map"),
  });
}

if (action === "add") add(dir);
else if (action === "remove") remove(dir);
else if (action === "clean") for (const d of BUNDLERS) remove(d);
else {
  console.error("usage: node scripts/bundle-protocol.mjs add|remove [packageDir] | clean");
  process.exit(2);
}
