// Builds dist/skein-sdk.browser.js: the SDK with msgpackr and zod in one ES module for browsers, from
// the compiled dist/ (run after `tsc -b`). The `browser` condition picks transport-browser.js for
// `#transport`, so `ws` and every Node built-in stay out of the bundle (checked below).
// Vite is already in the tree as vitest's bundler; its library mode does the bundling.
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";

const root = dirname(fileURLToPath(import.meta.url));
const fileName = "skein-sdk.browser.js";

await build({
  configFile: false,
  root,
  logLevel: "warn",
  resolve: { conditions: ["browser", "module", "import", "default"] },
  build: {
    lib: { entry: join(root, "dist/index.js"), formats: ["es"], fileName: () => fileName },
    outDir: join(root, "dist"),
    emptyOutDir: false,
    target: "es2022",
    minify: true,
    sourcemap: true,
    reportCompressedSize: false,
  },
});

const bundle = await readFile(join(root, "dist", fileName), "utf8");
for (const forbidden of [/\bfrom\s*["']ws["']/, /["']node:[a-z_]+["']/, /require\(["']ws["']\)/]) {
  if (forbidden.test(bundle)) throw new Error(`${fileName} must not import ${forbidden}`);
}
