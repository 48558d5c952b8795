/**
 * `send_request` frames to a session or a filter keep one hidden class (issue 12 item 18,
 * docs/performance.md "GC and the QoS 1 latency tail"). In V8 (Node 20) an object made by spread
 * with a field added (`{ ...frame, target }`) gets a hidden class of its own, and the `id` the
 * channel then sets makes another: old-space garbage per request. The check asks V8 itself
 * (`%HaveSameMap`), so it does not depend on when the GC runs.
 */
import v8 from "node:v8";
import { describe, expect, it } from "vitest";
import type { RequestFrame } from "../channel.js";
import { MessagingFeature } from "./messaging.js";
import type { Requester } from "./results.js";

v8.setFlagsFromString("--allow-natives-syntax");
// A V8 intrinsic can only be reached from code compiled after the flag is set.
const haveSameMap = new Function("a", "b", "return %HaveSameMap(a, b)") as (a: object, b: object) => boolean;

/** Keeps the frames sent, and gives each its id as the channel does (a field added in place). */
function recorder(): { link: Requester; frames: RequestFrame[] } {
  const frames: RequestFrame[] = [];
  let id = 0;
  const link: Requester = {
    request(frame, _what, options) {
      (frame as RequestFrame & { id: number }).id = ++id;
      frames.push(frame);
      options?.onId?.(id);
      return Promise.resolve(frame.type === "send_request" && "target" in frame ? 1 : new Uint8Array());
    },
    post() {},
  };
  return { link, frames };
}

const binary = { requestType: "binary", responseType: "binary" } as const;

describe("send_request frames", () => {
  it("share one hidden class per kind of target", async () => {
    const { link, frames } = recorder();
    const messaging = new MessagingFeature(link, 1000, () => {});
    const value = new Uint8Array([1, 2, 3]);
    const onResponse = (): void => {};
    // Enough requests for V8's inline caches to settle (the first few spread objects do share).
    const n = 50;
    for (let i = 0; i < n; i++) await messaging.sendRequestToSession(`s${i}`, "a/b", value, binary);
    for (let i = 0; i < n; i++)
      await messaging.sendRequestToFilter(`group eq '${i}'`, "a/b", value, { ...binary, onResponse });
    expect(frames).toHaveLength(2 * n);
    const toSession = frames.slice(0, n);
    const toFilter = frames.slice(n);
    expect(toSession.filter((f) => !haveSameMap(f, toSession[0] as object))).toHaveLength(0);
    expect(toFilter.filter((f) => !haveSameMap(f, toFilter[0] as object))).toHaveLength(0);
  });
});
