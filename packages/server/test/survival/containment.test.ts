/**
 * Survival (issue 14 §4, item 2): exceptions are contained at every boundary, not only per packet. A
 * subscriber (or a read check) that throws during fan-out does not stop the others nor fail the
 * publisher; a timer callback that throws is not an uncaught exception and does not stop the timers
 * after it; a session listener that throws does not fail the session's open; a will whose publish
 * throws on socket close does not take the server down. Each is counted in
 * `skein_contained_errors_total{where}`.
 */
import { allowAll } from "../../src/core/security/types.js";
import { TimerWheel } from "../../src/core/timer-wheel.js";
import type { Permission } from "@skein/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { Core } from "../../src/core/core.js";
import type { SessionHandle } from "../../src/core/sessions.js";
import type { Subscriber, Update } from "../../src/core/types.js";
import type { Actor, Authorizer } from "../../src/index.js";
import { FakeClock } from "../fake-clock.js";
import { connectClient, trustClaimedNames, waitFor } from "../helpers.js";
import { startSurvivalServer, type SurvivalServer } from "./canaries.js";

const LIMITS = { maxTopics: 100, maxRequestBytes: 1000, removalSweepMs: 60_000 };
const contained = (core: Core, where: string): number =>
  core.metrics.get("skein_contained_errors_total", { where });

/** A subscriber recording what it receives, or throwing on every delivery. */
function subscriber(sessionId: string, throws = false): Subscriber & { got: string[] } {
  const got: string[] = [];
  return {
    sessionId,
    got,
    deliver(update: Update) {
      if (throws) throw new Error(`${sessionId} fails`);
      got.push(update.topic);
    },
  };
}

const OPTIONS = { qos: 0, noLocal: false, retainAsPublished: false, retainHandling: 0 } as const;

function set(core: Core, path: string): ReturnType<Core["updateTopic"]> {
  return core.updateTopic({
    path,
    valueType: "string",
    value: new TextEncoder().encode("v"),
    sessionId: "publisher",
    createSpec: { type: "string" },
  });
}

describe("in the core", () => {
  it("a subscriber that throws during fan-out: the others get the update, the publisher succeeds", () => {
    const core = new Core({ limits: LIMITS });
    const [a, bad, c] = [subscriber("a"), subscriber("bad", true), subscriber("c")];
    for (const s of [a, bad, c]) core.subscriptions.add("t/#", undefined, s, OPTIONS);
    expect(() => set(core, "t/1")).not.toThrow();
    // Several matching filters take the grouping path.
    core.subscriptions.add("t/+", undefined, bad, OPTIONS);
    core.subscriptions.add("t/2", undefined, c, OPTIONS);
    expect(() => set(core, "t/2")).not.toThrow();
    expect(a.got).toEqual(["t/1", "t/2"]);
    expect(c.got).toEqual(["t/1", "t/2"]);
    expect(contained(core, "delivery")).toBe(2);
  });

  it("a timer callback that throws is contained, and timers after it still run", () => {
    const clock = new FakeClock(0);
    const core = new Core({ limits: LIMITS, clock });
    const fired: number[] = [];
    core.clock.setTimeout(() => {
      throw new Error("timer fails");
    }, 10);
    core.clock.setTimeout(() => fired.push(20), 20);
    expect(() => clock.advance(30)).not.toThrow();
    expect(fired).toEqual([20]);
    expect(contained(core, "timer")).toBe(1);
  });

  it("removals keep running after a removal that throws: the next due topic still goes", () => {
    const clock = new FakeClock(0);
    const core = new Core({ limits: LIMITS, clock, authorizer: allowAll });
    const spec = {
      type: "binary",
      properties: { retention: "mqtt", removal: { idleMs: 1_000, onlyWithoutValue: true } },
    } as const;
    core.addTopic("idle/a", spec);
    clock.advance(10);
    core.addTopic("idle/b", spec);
    const removeTopic = core.removeTopic.bind(core);
    let calls = 0;
    (core as unknown as { removeTopic: (path: string) => unknown }).removeTopic = (path: string) => {
      calls++;
      if (path === "idle/a") throw new Error("removal fails");
      return removeTopic(path);
    };
    core.start();
    clock.advance(5_000);
    expect(calls).toBe(2);
    expect(core.topics.get("idle/b")).toBeUndefined();
    expect(contained(core, "timer")).toBeGreaterThanOrEqual(1);
  });

  it("a timer wheel entry that throws: the others due with it run, and the wheel runs on", () => {
    const clock = new FakeClock(0);
    const core = new Core({ limits: LIMITS, clock, authorizer: allowAll });
    const wheel = new TimerWheel(core.clock, 1000, 100);
    const ran: string[] = [];
    const entry = (name: string, fails: boolean) => ({
      wheelAt: Number.NaN,
      wheelDue: () => {
        ran.push(name);
        if (fails) throw new Error(`${name} fails`);
      },
    });
    wheel.schedule(entry("a", true), 1_000);
    wheel.schedule(entry("b", false), 1_000);
    wheel.schedule(entry("c", false), 5_000);
    clock.advance(10_000);
    expect(ran).toEqual(["a", "b", "c"]);
    expect(contained(core, "timer")).toBe(1);
  });

  it("a session listener that throws: the other listeners hear, the session opens", () => {
    const core = new Core({ limits: LIMITS });
    const heard: string[] = [];
    core.sessions.onEvent(() => {
      throw new Error("listener fails");
    });
    core.sessions.onEvent((kind, s) => heard.push(`${kind} ${s.sessionId}`));
    const session = { sessionId: "s1", principal: undefined, roles: [], transport: "sdk", properties: {} };
    core.sessions.add(session as unknown as SessionHandle);
    core.sessions.remove("s1");
    expect(heard).toEqual(["opened s1", "closed s1"]);
    expect(contained(core, "session_event")).toBe(2);
  });
});

/** Allows everything, but throws for `victim` on the permissions in `throwsOn` (changeable). */
class ThrowingAuthorizer implements Authorizer {
  version = 1;
  throwsOn = new Set<Permission>();
  authorize(actor: Actor, permission: Permission): boolean {
    if (actor.principal === "victim" && this.throwsOn.has(permission)) throw new Error("authorizer fails");
    return true;
  }
}

describe("over real sockets", () => {
  let s: SurvivalServer | undefined;
  afterEach(async () => s?.close());

  it("a read check that throws for one subscriber: everyone else gets the message, the publisher stays", async () => {
    const authorizer = new ThrowingAuthorizer();
    authorizer.throwsOn.add("read_topic");
    s = await startSurvivalServer({}, { authorizer, authenticators: [trustClaimedNames] });
    const victim = await connectClient(s.srv.url(), { protocolVersion: 5, username: "victim" });
    await victim.subscribeAsync("canary/#", { qos: 1 });
    const before = s.counter("skein_contained_errors_total", { where: "delivery" });
    await s.canariesAlive();
    expect(s.counter("skein_contained_errors_total", { where: "delivery" })).toBeGreaterThan(before);
    expect(victim.connected).toBe(true);
    await victim.endAsync();
  });

  it("a will whose publish throws when the socket closes is contained; the server stays up", async () => {
    const authorizer = new ThrowingAuthorizer();
    s = await startSurvivalServer({}, { authorizer, authenticators: [trustClaimedNames] });
    const victim = await connectClient(s.srv.url(), {
      protocolVersion: 5,
      username: "victim",
      will: { topic: "canary/will", payload: Buffer.from("gone"), qos: 0, retain: false },
    });
    // From now on every check for the victim throws, the will's too.
    for (const p of ["update_topic", "modify_topic", "read_topic"] as Permission[])
      authorizer.throwsOn.add(p);
    authorizer.version++;
    victim.stream.destroy();
    await waitFor(() => s!.counter("skein_contained_errors_total") > 0, "the contained error");
    await s.canariesAlive();
  });
});

describe("shared subscriptions", () => {
  it("a read check that throws for one member: the group's message goes to another member", () => {
    const core = new Core({ limits: LIMITS });
    const [bad, good] = [subscriber("bad"), subscriber("good")];
    core.subscriptions.readGate = (s) => {
      if (s.sessionId === "bad") throw new Error("gate fails");
      return true;
    };
    for (const s of [bad, good]) core.subscriptions.add("g/#", "group", s, OPTIONS);
    for (let i = 0; i < 2; i++) expect(() => set(core, "g/1")).not.toThrow();
    expect(good.got).toEqual(["g/1", "g/1"]);
    expect(contained(core, "delivery")).toBeGreaterThanOrEqual(1);
  });
});
