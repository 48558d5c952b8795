// @ts-check
// Aedes on node:net with its default in-memory persistence, for the benchmark.
// Usage: node bench/aedes-server.mjs <port> [--nodelay]   (listens on 127.0.0.1)
import { createServer } from "node:net";
import { Aedes } from "aedes";

const port = Number(process.argv[2] ?? 1883);
const aedes = await Aedes.createBroker();
// Socket defaults (Nagle on) unless the bench runs with --nodelay.
const server = createServer({ noDelay: process.argv.includes("--nodelay") }, aedes.handle);
server.listen(port, "127.0.0.1", () =>
  console.log(
    `aedes ${/** @type {{ version?: string }} */ (/** @type {unknown} */ (aedes)).version} listening on 127.0.0.1:${port}`,
  ),
);
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => process.exit(0));
