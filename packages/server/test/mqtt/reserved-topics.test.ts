/**
 * Only the server writes `$SYS/` (issue 12, item 17): a Will there is refused at CONNECT (v5 CONNACK
 * 0x87, 3.1.1 return code 5); an MQTT 5 request whose Response Topic is in `$SYS/` (or is a
 * `$request/`/`$response/` topic) is refused, so no answer is ever published there; a client's PUBLISH
 * to `$SYS/` gets PUBACK 0x87 (QoS 0: dropped and counted); an SDK `set` or `add_topic` there gets
 * NOT_AUTHORIZED and creates nothing. The server's own `$SYS` figures still arrive.
 */
import { errorCodeNumber } from "@skein/protocol";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Reason } from "../../src/mqtt/reason-codes.js";
import { RawClient, frame, props, str, u16 } from "../raw-client.js";
import { openSession } from "../sdk/raw-sdk.js";
import { type BadInputServer, protocolError, startBadInputServer } from "./bad-input-harness.js";

const x = Buffer.from("x");
const connectHead = (level: number, flags: number): Buffer =>
  Buffer.concat([str("MQTT"), Buffer.from([level, flags]), u16(60)]);

describe("writes into $SYS/ are the server's alone", () => {
  let bad: BadInputServer;
  let port: number;
  beforeAll(async () => {
    bad = await startBadInputServer();
    port = bad.srv.addresses.mqtt!;
  });
  afterAll(async () => bad.close());
  const metrics = () => bad.srv.server.metrics;

  it("refuses a Will on $SYS/ with return code 5 (3.1.1)", async () =>
    bad.run({
      name: "will on $SYS",
      version: 4,
      handshake: false,
      bytes: frame(0x10, connectHead(4, 0x06), str("w1"), str("$SYS/probe/will"), str("x")),
      expect: {
        packet: { cmd: "connack", returnCode: 5 },
        closed: true,
        counted: protocolError("connect_refused_87"),
      },
    }));

  it("refuses a Will on $SYS/ with CONNACK 0x87 (5.0)", async () =>
    bad.run({
      name: "will on $SYS",
      version: 5,
      handshake: false,
      bytes: frame(0x10, connectHead(5, 0x06), props(), str("w2"), props(), str("$SYS/probe/will"), str("x")),
      expect: {
        packet: { cmd: "connack", reasonCode: Reason.NOT_AUTHORIZED },
        closed: true,
        counted: protocolError("connect_refused_87"),
      },
    }));

  it("keeps a Will on other $ topics and on $SYSTEM/ (not the reserved branch)", async () => {
    const raw = await RawClient.open(port, 5);
    try {
      raw.send(frame(0x10, connectHead(5, 0x06), props(), str("w3"), props(), str("$SYSTEM/w"), str("x")));
      expect(await raw.next()).toMatchObject({ cmd: "connack", reasonCode: 0 });
    } finally {
      raw.destroy();
    }
  });

  /** A v5 QoS 1 request to `$request/nobody` answered on `responseTopic`. */
  const request = (id: number, responseTopic: string): Buffer =>
    frame(
      0x32,
      str("$request/nobody"),
      u16(id),
      props(Buffer.concat([Buffer.from([0x08]), str(responseTopic)])),
      x,
    );

  it.each([
    ["$SYS/probe/answer", Reason.NOT_AUTHORIZED],
    ["$request/victim", Reason.TOPIC_NAME_INVALID],
    ["$response/1", Reason.TOPIC_NAME_INVALID],
  ])("never answers a request on Response Topic %s", async (responseTopic, reason) => {
    const watcher = await RawClient.connected(port, 5);
    const requester = await RawClient.connected(port, 5);
    try {
      watcher.send({
        cmd: "subscribe",
        messageId: 1,
        subscriptions: [
          { topic: responseTopic.replace(/\/[^/]*$/, "/#"), qos: 0 },
          { topic: "probe/marker", qos: 0 },
        ],
      });
      expect(await watcher.next()).toMatchObject({ cmd: "suback" });
      requester.send(request(5, responseTopic));
      expect(await requester.next()).toMatchObject({ cmd: "puback", messageId: 5, reasonCode: reason });
      // A refused request is answered at once (after its PUBACK) when it is answered at all: the marker
      // published after the PUBACK must be the first thing the watcher sees.
      requester.send({
        cmd: "publish",
        topic: "probe/marker",
        payload: "m",
        qos: 0,
        retain: false,
        dup: false,
      });
      expect(await watcher.next()).toMatchObject({ cmd: "publish", topic: "probe/marker" });
    } finally {
      watcher.destroy();
      requester.destroy();
    }
  });

  it.each([4, 5] as const)("refuses an MQTT PUBLISH to $SYS/ (v%i)", async (version) => {
    const raw = await RawClient.connected(port, version);
    try {
      const refused = () => metrics().get("skein_updates_refused_total", { reason: "NOT_AUTHORIZED" });
      const before = refused();
      raw.send({
        cmd: "publish",
        topic: "$SYS/probe/pub",
        payload: "x",
        qos: 1,
        messageId: 3,
        retain: true,
        dup: false,
      });
      // v5: 0x87 Not authorized; 3.1.1 has no negative acknowledgement (the message is not delivered).
      const puback = await raw.next();
      expect(puback).toMatchObject({ cmd: "puback", messageId: 3 });
      if (version === 5) expect(puback).toMatchObject({ reasonCode: Reason.NOT_AUTHORIZED });
      raw.send({ cmd: "publish", topic: "$SYS/probe/pub0", payload: "x", qos: 0, retain: true, dup: false });
      await raw.ping();
      expect(refused() - before).toBe(2);
      expect(bad.srv.server.getTopic("$SYS/probe/pub")).toBeUndefined();
      expect(bad.srv.server.getTopic("$SYS/probe/pub0")).toBeUndefined();
    } finally {
      raw.destroy();
    }
  });

  it("refuses an SDK set and add_topic on $SYS/ with NOT_AUTHORIZED and creates nothing", async () => {
    const sdk = await openSession(`ws://127.0.0.1:${bad.srv.addresses.http}/sdk`);
    try {
      const spec = { type: "string" };
      sdk.send({ type: "set", id: 1, path: "$SYS/probe/sdk", valueType: "string", value: x, spec });
      sdk.send({ type: "add_topic", id: 2, path: "$SYS/probe/sdk2", spec });
      for (const id of [1, 2]) {
        const error = await sdk.next("error", (f) => f.id === id);
        expect(error.code).toBe(errorCodeNumber("NOT_AUTHORIZED"));
      }
      expect(bad.srv.server.getTopic("$SYS/probe/sdk")).toBeUndefined();
      expect(bad.srv.server.getTopic("$SYS/probe/sdk2")).toBeUndefined();
    } finally {
      sdk.ws.close();
    }
  });

  it("still publishes the server's own $SYS figures", async () => {
    const raw = await RawClient.connected(port, 5);
    try {
      raw.send({ cmd: "subscribe", messageId: 1, subscriptions: [{ topic: "$SYS/broker/version", qos: 0 }] });
      expect(await raw.next()).toMatchObject({ cmd: "suback", granted: [0] });
      expect(await raw.next()).toMatchObject({ cmd: "publish", topic: "$SYS/broker/version", retain: true });
    } finally {
      raw.destroy();
    }
  });
});
