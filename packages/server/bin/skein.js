#!/usr/bin/env node
// The `skein` command. This file exists before the first build, so `npm install` can link it as a
// bin (in this repository: node_modules/.bin/skein, which `npx skein` runs); the command itself is
// the compiled dist/cli.js.
try {
  await import("../dist/cli.js");
} catch (err) {
  const missing =
    err instanceof Error &&
    "code" in err &&
    err.code === "ERR_MODULE_NOT_FOUND" &&
    err.message.includes("dist/cli.js");
  if (!missing) throw err;
  process.stderr.write("skein: the server is not built yet: run `npm run build` first\n");
  process.exit(1);
}
