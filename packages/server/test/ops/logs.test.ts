/**
 * Logs (issue 10): start-up lines name every URL and the storage file; one line per connection opened
 * and closed, with its reason; no password, token or payload in any line at any level; the pretty
 * format on a terminal.
 */
import { connect as connectTcp } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseConfig } from "../../src/index.js";
import { createLogger } from "../../src/ops/logger.js";
import { connectClient, startServer, trustClaimedNames, waitFor } from "../helpers.js";

/** A log destination that keeps every line, parsed. */
function captured(): {
  lines: string[];
  entries: () => Record<string, unknown>[];
  write(line: string): void;
} {
  const lines: string[] = [];
  return {
    lines,
    entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    write: (line: string) => void lines.push(line),
  };
}

describe("start-up lines", () => {
  it("name the URL of every door and endpoint, and the storage file", async () => {
    const log = captured();
    const dataDir = mkdtempSync(join(tmpdir(), "skein-logs-"));
    try {
      await using srv = await startServer(
        { logLevel: "info", dataDir, storage: { engine: "sqlite" } },
        { logDestination: log },
      );
      const { mqtt, http } = srv.addresses;
      const urls = log.entries().flatMap((e) => (e.url === undefined ? [] : [e.url]));
      expect(urls).toEqual([
        `mqtt://127.0.0.1:${mqtt}`,
        `ws://127.0.0.1:${http}/mqtt`,
        `ws://127.0.0.1:${http}/sdk`,
        `http://127.0.0.1:${http}/console/`,
        `http://127.0.0.1:${http}/metrics`,
        `http://127.0.0.1:${http}/healthz`,
        `http://127.0.0.1:${http}/readyz`,
      ]);
      expect(log.entries().find((e) => e.file !== undefined)?.file).toBe(join(dataDir, "skein.db"));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe("connection lines", () => {
  it("log each connection opened and closed with its reason, and never a password or payload", async () => {
    const log = captured();
    await using srv = await startServer(
      { logLevel: "trace" },
      { logDestination: log, authenticators: [trustClaimedNames] },
    );
    const client = await connectClient(srv.url("tcp"), {
      clientId: "logged-client",
      username: "alice",
      password: "hunter2-very-secret",
    });
    await client.publishAsync("private/topic", "PAYLOAD-NOT-FOR-LOGS", { qos: 1 });
    await client.endAsync();
    await waitFor(
      () => log.entries().some((e) => e.msg === "connection closed" && e.clientId === "logged-client"),
      "the close line",
    );
    const opened = log.entries().find((e) => e.msg === "client connected" && e.clientId === "logged-client");
    expect(opened).toMatchObject({ door: "mqtt", remote: "127.0.0.1", transport: "tcp" });
    const closed = log.entries().find((e) => e.msg === "connection closed" && e.clientId === "logged-client");
    expect(closed).toMatchObject({ door: "mqtt", remote: "127.0.0.1", reason: "client_disconnect" });

    // A socket that goes away without DISCONNECT: connection_lost.
    const raw = connectTcp(srv.addresses.mqtt!, "127.0.0.1");
    await new Promise((resolve) => raw.once("connect", resolve));
    raw.destroy();
    await waitFor(
      () => log.entries().some((e) => e.msg === "connection closed" && e.reason === "connection_lost"),
      "the lost connection's line",
    );

    for (const line of log.lines) {
      expect(line).not.toContain("hunter2-very-secret");
      expect(line).not.toContain("PAYLOAD-NOT-FOR-LOGS");
    }
  });

  it("censor secret fields wherever a logger is handed them", () => {
    const log = captured();
    const logger = createLogger(parseConfig({ logLevel: "trace" }), log);
    logger.info(
      {
        password: "p1",
        token: "t1",
        credentials: { password: "p2" },
        req: { headers: { authorization: "Bearer t2" } },
        payload: "x",
      },
      "careless",
    );
    expect(log.lines.join("")).not.toMatch(/p1|t1|p2|t2|"x"/);
    expect(log.entries()[0]).toMatchObject({
      password: "[redacted]",
      token: "[redacted]",
      payload: "[redacted]",
    });
  });
});

describe("pretty format", () => {
  it("writes one readable line per entry: time, level, message, fields", () => {
    const out: string[] = [];
    const logger = createLogger(parseConfig({ logFormat: "pretty" }), {
      write: (s: string) => void out.push(s),
    });
    logger.info({ url: "mqtt://127.0.0.1:1883", password: "nope" }, "MQTT over TCP");
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} INFO {2}MQTT over TCP url=mqtt:\/\/127\.0\.0\.1:1883 password=\[redacted\]\n$/,
    );
  });
});
