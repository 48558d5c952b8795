/**
 * Survival (issue 14 §4): structures that grow with one SDK session are bounded per session: requests
 * waiting for answers (`sdk.maxPendingRequestsPerSession`), locks held (`sdk.maxLocksPerSession`) and
 * session-event watches (`sdk.maxSessionWatchesPerSession`). Past a bound the request fails with
 * RATE_LIMITED and the session stays; freeing one makes room again.
 */
import { errorCodeNumber } from "@skein/protocol";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ANONYMOUS_ADMIN, waitFor } from "../helpers.js";
import { openSession } from "../sdk/raw-sdk.js";
import { startSurvivalServer, type SurvivalServer } from "./canaries.js";

const RATE_LIMITED = errorCodeNumber("RATE_LIMITED");
let s: SurvivalServer;
beforeAll(async () => {
  s = await startSurvivalServer({
    ...ANONYMOUS_ADMIN,
    sdk: { maxPendingRequestsPerSession: 2, maxLocksPerSession: 2, maxSessionWatchesPerSession: 2 },
  });
});
afterAll(async () => s?.close());

it("requests waiting for answers: the third is refused until one is answered", async () => {
  const handler = await openSession(s.sdkUrl);
  handler.send({
    type: "add_handler",
    id: 1,
    kind: "path",
    path: "slow",
    requestType: "string",
    responseType: "string",
  });
  await handler.next("result", (r) => r.id === 1);
  const requester = await openSession(s.sdkUrl);
  const send = (id: number) =>
    requester.send({
      type: "send_request",
      id,
      path: "slow",
      requestType: "string",
      responseType: "string",
      value: new TextEncoder().encode("q"),
    });
  send(1);
  send(2);
  send(3);
  expect((await requester.next("error", (e) => e.id === 3)).code).toBe(RATE_LIMITED);
  const first = await handler.next("request");
  handler.send({ type: "respond", id: 2, rid: first.rid, value: new TextEncoder().encode("a") });
  await requester.next("result", (r) => r.id === 1 || r.id === 2);
  send(4);
  // The fourth reaches the handler: it is the third request the handler sees.
  await waitFor(() => handler.frames.filter((f) => f.type === "request").length === 3, "the fourth request");
  expect(requester.frames.some((f) => f.type === "error" && f.id === 4)).toBe(false);
  expect(requester.closed).toBeUndefined();
  handler.ws.close();
  requester.ws.close();
  await s.canariesAlive();
});

it("locks: the third is refused until one is released", async () => {
  const raw = await openSession(s.sdkUrl);
  for (const [id, name] of [
    [1, "l/a"],
    [2, "l/b"],
  ] as const) {
    raw.send({ type: "lock", id, name });
    await raw.next("result", (r) => r.id === id);
  }
  raw.send({ type: "lock", id: 3, name: "l/c" });
  expect((await raw.next("error", (e) => e.id === 3)).code).toBe(RATE_LIMITED);
  raw.send({ type: "lock", id: 4, name: "l/a" }); // re-acquiring a held lock is fine
  await raw.next("result", (r) => r.id === 4);
  raw.send({ type: "unlock", id: 5, name: "l/a" });
  await raw.next("result", (r) => r.id === 5);
  raw.send({ type: "lock", id: 6, name: "l/c" });
  expect(await raw.next("result", (r) => r.id === 6)).toMatchObject({ value: true });
  raw.ws.close();
  await s.canariesAlive();
});

it("session watches: the third is refused; replacing one by its id is fine", async () => {
  const raw = await openSession(s.sdkUrl);
  for (const id of [1, 2]) {
    raw.send({ type: "watch_sessions", id });
    await raw.next("result", (r) => r.id === id);
  }
  raw.send({ type: "watch_sessions", id: 3 });
  expect((await raw.next("error", (e) => e.id === 3)).code).toBe(RATE_LIMITED);
  raw.send({ type: "unwatch_sessions", id: 4, watch: 1 });
  await raw.next("result", (r) => r.id === 4);
  raw.send({ type: "watch_sessions", id: 5 });
  await raw.next("result", (r) => r.id === 5);
  raw.ws.close();
  await s.canariesAlive();
});
