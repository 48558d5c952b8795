/**
 * A regex selector cannot stall the server (issue 12, item 12): a session selects `*redos/(a+)+b`, then a
 * publish to `redos/` followed by many a's is matched against it. With a backtracking engine that
 * match would freeze the event loop for minutes; with RE2 the publish completes, a concurrent ping is
 * answered, and the selection still matches what it should.
 */
import { afterEach, expect, it } from "vitest";
import { type SdkFixture, recorder, startSdkServer, waitFor } from "./helpers.js";

let f: SdkFixture;
afterEach(() => f.close());

it("an evil publish against a ReDoS selector completes, a concurrent ping is answered, matching is right", async () => {
  f = await startSdkServer();
  const selector = await f.connect();
  const publisher = await f.connect();
  const other = await f.connect();
  await selector.select("*redos/(a+)+b");
  const stream = recorder<string>();
  selector.addStream("*redos/(a+)+b", "string", stream);

  // 40 a's: a backtracking engine needs about 2^40 steps for this path.
  const evil = `redos/${"a".repeat(40)}`;
  const published = publisher.topics.addAndSet(evil, { type: "string" }, "evil");
  const pinged = other.ping();
  await published;
  expect(await pinged).toBeGreaterThanOrEqual(0);

  await publisher.topics.addAndSet("redos/aaab", { type: "string" }, "good");
  await waitFor(
    () => stream.events.some((e) => e.kind === "subscribe" && e.path === "redos/aaab"),
    "redos/aaab",
  );
  expect(stream.events.filter((e) => e.kind === "subscribe").map((e) => e.path)).toEqual(["redos/aaab"]);
});
