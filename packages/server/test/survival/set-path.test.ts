/**
 * Survival (issue 14 §4): an SDK `set` that may create its topic (it carries a specification) checks
 * the path as `add_topic` does, so `+`, `#` and NUL never reach a topic, nor MQTT subscribers.
 */
import { errorCodeNumber } from "@skein/protocol";
import { afterAll, beforeAll, expect, it } from "vitest";
import { collect, roundTrip } from "../helpers.js";
import { openSession } from "../sdk/raw-sdk.js";
import { startSurvivalServer, type SurvivalServer } from "./canaries.js";

let s: SurvivalServer;
beforeAll(async () => {
  s = await startSurvivalServer();
});
afterAll(async () => s?.close());

it.each(["bad/+/path", "bad/#", "bad/\u0000nul"])(
  "set with a specification at %j is refused with INVALID_PATH and creates nothing",
  async (path) => {
    const seen = collect(s.mqttCanary);
    await s.mqttCanary.subscribeAsync("bad/#", { qos: 1 });
    const raw = await openSession(s.sdkUrl);
    raw.send({
      type: "set",
      id: 1,
      path,
      valueType: "string",
      value: new TextEncoder().encode("x"),
      spec: { type: "string" },
    });
    const error = await raw.next("error", (e) => e.id === 1);
    expect(error.code).toBe(errorCodeNumber("INVALID_PATH"));
    raw.send({ type: "fetch", id: 2, selector: "?bad/.*" });
    expect(await raw.next("result", (r) => r.id === 2)).toMatchObject({ value: { topics: [] } });
    await roundTrip(s.mqttCanary);
    expect(seen.filter((m) => m.topic.startsWith("bad"))).toEqual([]);
    raw.ws.close();
    await s.canariesAlive();
  },
);
