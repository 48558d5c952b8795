/**
 * Survival (issue 14 §4): `$`-topic privilege edges and the data directory. No client writes into
 * `$SYS/` (the server's own branch) or `$CONTROL/` (control APIs, whose command topics their doors
 * take with their own permission checks), whatever its door; `#` and `+` at the first level never
 * match a `$` topic [MQTT-4.7.2-1]; a Will into `$SYS/` or `$CONTROL/` is refused at CONNECT. Client ids, principals and
 * topic paths that look like file paths reach nothing but the one database file in the data directory.
 */
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { connect } from "@skein/sdk";
import { afterEach, describe, expect, it } from "vitest";
import { collect, connectClient, roundTrip, trustClaimedNames } from "../helpers.js";
import { RawClient } from "../raw-client.js";
import { startSurvivalServer, type SurvivalServer } from "./canaries.js";

let s: SurvivalServer | undefined;
afterEach(async () => s?.close());

describe("$ topics", () => {
  it("an anonymous client's PUBLISH to $SYS/ is refused with PUBACK 0x87 and reaches no one", async () => {
    s = await startSurvivalServer();
    const watcher = await connectClient(s.srv.url(), { protocolVersion: 5 });
    await watcher.subscribeAsync("$SYS/forged/#", { qos: 1 });
    const seen = collect(watcher);
    const raw = await RawClient.connected(s.srv.addresses.mqtt!, 5);
    raw.send({
      cmd: "publish",
      topic: "$SYS/forged/x",
      payload: Buffer.from("x"),
      qos: 1,
      messageId: 1,
      retain: true,
      dup: false,
    });
    expect(await raw.next()).toMatchObject({ cmd: "puback", messageId: 1, reasonCode: 0x87 });
    await roundTrip(watcher);
    expect(seen).toEqual([]);
    raw.destroy();
    await watcher.endAsync();
    await s.canariesAlive();
  });

  it("$CONTROL/ is no session's to write: PUBLISH 0x87 (3.1.1: acknowledged, dropped), SDK NOT_AUTHORIZED", async () => {
    s = await startSurvivalServer();
    const watcher = await connectClient(s.srv.url(), { protocolVersion: 5 });
    await watcher.subscribeAsync(["$CONTROL/#", "$CONTROL"], { qos: 1 });
    const seen = collect(watcher);
    const v5 = await connectClient(s.srv.url(), { protocolVersion: 5 });
    for (const topic of ["$CONTROL/broker/x", "$CONTROL", "$CONTROL/dynamic-security/v1/response"])
      await expect(v5.publishAsync(topic, "forged", { qos: 1, retain: true })).rejects.toMatchObject({
        code: 0x87,
      });
    await v5.publishAsync("$CONTROL/broker/x", "forged", { qos: 0 });
    const v311 = await connectClient(s.srv.url(), { protocolVersion: 4 });
    await v311.publishAsync("$CONTROL/broker/x", "forged", { qos: 1, retain: true });
    const session = await connect(s.sdkUrl, { reconnect: false });
    await expect(
      session.topics.addAndSet("$CONTROL/sdk", { type: "string" }, "forged"),
    ).rejects.toMatchObject({ code: "NOT_AUTHORIZED" });
    await expect(session.topics.add("$CONTROL/sdk", { type: "string" })).rejects.toMatchObject({
      code: "NOT_AUTHORIZED",
    });
    await roundTrip(v5, v311, watcher);
    expect(seen).toEqual([]);
    expect((await session.fetch(">$CONTROL//")).topics).toEqual([]);
    await session.close();
    for (const c of [watcher, v5, v311]) await c.endAsync();
    await s.canariesAlive();
  });

  it("'#' and '+' subscribers do not receive $ topics; a '$app/#' subscriber does [MQTT-4.7.2-1]", async () => {
    s = await startSurvivalServer();
    const wide = await connectClient(s.srv.url(), { protocolVersion: 5 });
    await wide.subscribeAsync(["#", "+/x", "+/+"], { qos: 1 });
    const narrow = await connectClient(s.srv.url(), { protocolVersion: 5 });
    await narrow.subscribeAsync("$app/#", { qos: 1 });
    const wideSeen = collect(wide);
    const narrowSeen = collect(narrow);
    const publisher = await connectClient(s.srv.url(), { protocolVersion: 5 });
    await publisher.publishAsync("$app/x", "dollar", { qos: 1 });
    await roundTrip(publisher, narrow, wide);
    expect(narrowSeen.map((m) => m.topic)).toEqual(["$app/x"]);
    expect(wideSeen.filter((m) => m.topic.startsWith("$"))).toEqual([]);
    for (const c of [wide, narrow, publisher]) await c.endAsync();
    await s.canariesAlive();
  });

  it.each([
    ["$SYS/", "$SYS/broker/version", "will-sys"],
    ["$CONTROL/", "$CONTROL/broker/x", "will-control"],
  ])("a Will into %s is refused at CONNECT (0x87)", async (_prefix, topic, clientId) => {
    s = await startSurvivalServer();
    const raw = await RawClient.open(s.srv.addresses.mqtt!, 5);
    raw.send({
      cmd: "connect",
      protocolId: "MQTT",
      protocolVersion: 5,
      clientId,
      clean: true,
      keepalive: 0,
      will: { topic, payload: Buffer.from("forged"), qos: 0, retain: true },
    });
    expect(await raw.next()).toMatchObject({ cmd: "connack", reasonCode: 0x87 });
    await raw.waitClosed();
    await s.canariesAlive();
  });
});

describe("the data directory", () => {
  let dataDir: string | undefined;
  afterEach(() => {
    if (dataDir) rmSync(dirname(dataDir), { recursive: true, force: true });
  });

  it("client ids, principals and topics shaped like paths write nothing outside skein.db", async () => {
    const root = mkdtempSync(join(tmpdir(), "skein-traversal-"));
    dataDir = join(root, "data");
    s = await startSurvivalServer(
      { dataDir, storage: { engine: "sqlite" } },
      { authenticators: [trustClaimedNames] },
    );
    const evil = "../../../../tmp/skein-escape";
    const client = await connectClient(s.srv.url(), {
      protocolVersion: 5,
      clientId: evil,
      username: "../evil",
      clean: false,
      properties: { sessionExpiryInterval: 3600 },
    });
    await client.subscribeAsync("../../x/#", { qos: 1 });
    await client.publishAsync("../../x/y", "escape", { qos: 1, retain: true });
    await client.publishAsync("..\\..\\x", "escape", { qos: 1, retain: true });
    await client.endAsync();
    await s.canariesAlive();
    await s.close();
    s = undefined;
    expect(readdirSync(root)).toEqual(["data"]);
    const files = readdirSync(dataDir).filter((f) => !/^skein\.db(-wal|-shm|-journal)?$/.test(f));
    expect(files.every((f) => f.endsWith(".lock"))).toBe(true);
  });
});
