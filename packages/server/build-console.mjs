// Fills console/vendor/ (git-ignored, shipped by `npm pack`) with the ES modules the web console
// imports: the SDK's browser bundle (built just before by `npm run build:browser -w @skein/sdk`),
// preact + its hooks, htm and uPlot, copied as they are from node_modules (no bundling step).
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = dirname(fileURLToPath(import.meta.url));
const vendor = join(root, "console", "vendor");
/** A file of an installed package: in this package's node_modules or the workspace's (hoisted). */
function pkg(name, file) {
  for (const modules of [join(root, "node_modules"), join(root, "..", "..", "node_modules")]) {
    if (existsSync(join(modules, name, file))) return join(modules, name, file);
  }
  throw new Error(`build-console: ${name}/${file} not found; run npm install`);
}

const FILES = {
  "skein-sdk.browser.js": join(root, "..", "sdk", "dist", "skein-sdk.browser.js"),
  "preact.module.js": pkg("preact", "dist/preact.module.js"),
  "hooks.module.js": pkg("preact", "hooks/dist/hooks.module.js"),
  "htm.module.js": pkg("htm", "dist/htm.module.js"),
  "uPlot.esm.js": pkg("uplot", "dist/uPlot.esm.js"),
  "uPlot.min.css": pkg("uplot", "dist/uPlot.min.css"),
};

rmSync(vendor, { recursive: true, force: true });
mkdirSync(vendor, { recursive: true });
for (const [name, from] of Object.entries(FILES)) copyFileSync(from, join(vendor, name));
