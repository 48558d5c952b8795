/**
 * docs/operations.md stays true (issue 10): its metrics reference lists every family the registry
 * renders, every `skein_` family a running server exports is described in the catalog, and the
 * systemd unit of examples/ passes `systemd-analyze verify` where systemd is installed.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { METRIC_CATALOG, Metrics, PrometheusExporter } from "../../src/index.js";
import { REFERENCE_BEGIN, REFERENCE_END } from "../../src/ops/metrics-reference.js";
import { connectClient, startServer } from "../helpers.js";
import { scrape } from "./exposition.js";

const ROOT = fileURLToPath(new URL("../../../..", import.meta.url));

describe("metrics reference", () => {
  it("docs/operations.md lists every registered metric, and nothing else (npm run docs:metrics)", async () => {
    const doc = readFileSync(join(ROOT, "docs/operations.md"), "utf8");
    const section = doc.slice(doc.indexOf(REFERENCE_BEGIN), doc.indexOf(REFERENCE_END));
    const listed = new Set([...section.matchAll(/^\| `([a-z0-9_:]+)` \|/gm)].map((m) => m[1]));
    const registered = (await new PrometheusExporter(new Metrics()).registry().getMetricsAsJSON()).map(
      (f) => f.name,
    );
    expect([...listed].sort()).toEqual([...new Set(registered)].sort());
  });

  it("describes every skein_ family a server exports after some traffic", async () => {
    await using srv = await startServer();
    const client = await connectClient(srv.url("tcp"));
    await client.subscribeAsync("a/#", { qos: 1 });
    await client.publishAsync("a/b", "1", { qos: 1 });
    await client.endAsync();
    const exposition = await scrape(srv.addresses.http);
    const undescribed = [...exposition.types.keys()].filter(
      (n) => n.startsWith("skein_") && !(n in METRIC_CATALOG),
    );
    expect(undescribed).toEqual([]);
  });
});

describe("examples/skein.service", () => {
  let analyze: string | undefined;
  try {
    execFileSync("systemd-analyze", ["--version"], { stdio: "ignore" });
    analyze = "systemd-analyze";
  } catch {
    analyze = undefined;
  }
  it.skipIf(analyze === undefined)(
    "passes systemd-analyze verify (skipped where systemd-analyze is not installed)",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "skein-unit-"));
      try {
        // The unit names /usr/bin/node; verify checks that the command exists, so point it at this node.
        const unit = readFileSync(join(ROOT, "examples/skein.service"), "utf8").replace(
          "/usr/bin/node",
          process.execPath,
        );
        const file = join(dir, "skein.service");
        writeFileSync(file, unit);
        const out = execFileSync("systemd-analyze", ["verify", file], {
          encoding: "utf8",
          stdio: ["ignore", "pipe", "pipe"],
        });
        expect(out).toBe("");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
