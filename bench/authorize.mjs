#!/usr/bin/env node
// @ts-check
/**
 * Micro-benchmark of the security store's Authorizer (issue 14 §2): nanoseconds per `authorize()` with
 * a store of 100 roles and 1,000 path permissions, for the cases the façade will hit per publish and
 * per delivery: the same actor object (a session handle) on paths it has seen (cached decision), on
 * fresh paths (trie walk), with fresh actor objects (role-set key lookup), and right after a store
 * change (recompilation). Run after a build: `node bench/authorize.mjs [--iterations N]`.
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

const { values: args } = parseArgs({
  options: {
    root: { type: "string", default: resolve(import.meta.dirname, "..") },
    iterations: { type: "string", default: "2000000" },
  },
});
const root = resolve(args.root);
/** @param {string} rel */
const load = (rel) => import(pathToFileURL(resolve(root, rel)).href);
const { SecurityService } = /** @type {typeof import("../packages/server/dist/core/security/service.js")} */ (
  await load("packages/server/dist/core/security/service.js")
);
const { SessionRegistry } = /** @type {typeof import("../packages/server/dist/core/sessions.js")} */ (
  await load("packages/server/dist/core/sessions.js")
);
const { Metrics } = /** @type {typeof import("../packages/server/dist/core/metrics.js")} */ (
  await load("packages/server/dist/core/metrics.js")
);
const { silentLogger, systemClock } = /** @type {typeof import("../packages/server/dist/core/ports.js")} */ (
  await load("packages/server/dist/core/ports.js")
);

const N = Number(args.iterations);
const ROLES = 100;
const PATHS_PER_ROLE = 10; // 1,000 path permissions in all

/** @type {import("../packages/protocol/dist/index.js").RoleDefinition[]} */
const roles = [];
for (let r = 0; r < ROLES; r++) {
  /** @type {Record<string, ("read_topic" | "update_topic" | "select_topic")[]>} */
  const paths = {};
  for (let p = 0; p < PATHS_PER_ROLE; p++) {
    paths[`site${r}/area${p}`] = ["read_topic", "select_topic"];
    if (p % 3 === 0) paths[`site${r}/area${p}/private`] = [];
  }
  paths[`users/{principal}`] = ["read_topic", "update_topic"];
  roles.push({
    name: `role${r}`,
    global: ["register_handler"],
    paths,
    includes: r > 0 ? [`role${r - 1}`] : [],
  });
}
const security = new SecurityService(
  { initial: { roles } },
  new SessionRegistry(),
  systemClock,
  new Metrics(),
  silentLogger,
);
const auth = security.authorizer;
// A session holding 3 roles, which include their way down to all 100.
const actor = { sessionId: "s1", principal: "alice", roles: ["role99", "role50", "role7"], clientId: "dev1" };
const paths = Array.from(
  { length: 1000 },
  (_, i) => `site${i % ROLES}/area${i % PATHS_PER_ROLE}/sensor${i}/temp`,
);

/**
 * @param {string} name
 * @param {(i: number) => boolean} fn
 */
function measure(name, fn) {
  let granted = 0;
  for (let i = 0; i < Math.min(N, 100_000); i++) if (fn(i)) granted++; // warm up
  granted = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < N; i++) if (fn(i)) granted++;
  const ns = Number(process.hrtime.bigint() - start) / N;
  console.log(
    `${name.padEnd(58)} ${ns.toFixed(1).padStart(8)} ns/authorize  (${((granted / N) * 100).toFixed(0)}% granted)`,
  );
}

console.log(`authorize(): ${ROLES} roles, ${ROLES * PATHS_PER_ROLE} path permissions, ${N} calls each`);
measure("global permission, same actor", () => auth.authorize(actor, "register_handler"));
measure("path permission, same actor, 1,000 paths (cached)", (i) =>
  auth.authorize(actor, "read_topic", paths[i % 1000]),
);
const fresh = Array.from({ length: 100_000 }, (_, i) => `site${i % ROLES}/area${i % 7}/x${i}`);
measure("path permission, same actor, 100,000 paths (cache churn)", (i) =>
  auth.authorize(actor, "read_topic", fresh[i % fresh.length]),
);
measure("path permission, {principal} path", () =>
  auth.authorize(actor, "update_topic", "users/alice/inbox"),
);
const actors = Array.from({ length: 1000 }, (_, i) => ({ ...actor, sessionId: `s${i}` }));
measure("path permission, 1,000 actor objects (key lookup)", (i) =>
  auth.authorize(/** @type {typeof actor} */ (actors[i % 1000]), "read_topic", paths[i % 1000]),
);
const changes = Math.max(1, Math.floor(N / 1000));
const t0 = process.hrtime.bigint();
for (let i = 0; i < changes; i++) {
  security.store.bump();
  auth.authorize(actor, "read_topic", paths[i % 1000]);
}
const us = Number(process.hrtime.bigint() - t0) / changes / 1000;
console.log(
  `${"first authorize after a store change (recompile 100 roles)".padEnd(58)} ${us.toFixed(1).padStart(8)} µs`,
);
