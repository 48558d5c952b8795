/**
 * The one choke point (issue 14 §1): every operation of the façade asks the Authorizer, with the
 * permission it is documented to need, before it acts. The operations are enumerated from the class
 * itself, so a new method fails this test until it is listed here as checked (with its permission) or
 * as unchecked (with the reason).
 */
import { type Permission, SkeinError, parseJsonRangeQuery, parseSelector } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import { Core } from "./core.js";
import { Facade, sessionActor } from "./facade.js";
import { type Actor, type Authorizer, allowAll } from "./security/types.js";
import type { Subscriber, SubscriptionOptions, Update } from "./types.js";

/** An authorizer that records every question and refuses everything. */
class DenyAll implements Authorizer {
  readonly asked: { permission: Permission; path: string | undefined }[] = [];
  version = 1;
  authorize(_actor: Actor, permission: Permission, path?: string): boolean {
    this.asked.push({ permission, path });
    return false;
  }
}

const actor = sessionActor("s1", "alice");
const options: SubscriptionOptions = { qos: 1, noLocal: false, retainAsPublished: false, retainHandling: 0 };
const subscriber: Subscriber = { sessionId: "s1", actor, deliver: () => {} };
const update: Update = {
  topic: "a/b",
  payload: new Uint8Array([1]),
  qos: 0,
  retain: false,
  properties: undefined,
  expiresAt: undefined,
  origin: "s1",
};
const request = {
  path: "svc/x",
  requestType: undefined,
  responseType: undefined,
  payload: new Uint8Array(0),
  timeoutMs: 1000,
};
const noop = (): void => {};

type Call = (f: Facade) => unknown;

/** Every checked operation: how to call it, and the permission (and path) it must ask first. */
const CHECKED: Record<string, { call: Call; permission: Permission; path?: string }> = {
  publish: {
    call: (f) => f.publish(actor, update, { createSpec: () => ({ type: "binary" }) }),
    permission: "update_topic",
    path: "a/b",
  },
  mayPublish: { call: (f) => f.mayPublish(actor, "a/b"), permission: "update_topic", path: "a/b" },
  publishedSpec: { call: (f) => f.publishedSpec(actor, "a/b"), permission: "update_topic", path: "a/b" },
  addTopic: {
    call: (f) => f.addTopic(actor, "a/b", { type: "json" }),
    permission: "modify_topic",
    path: "a/b",
  },
  removeTopics: {
    call: (f) => f.removeTopics(actor, parseSelector(">a//")),
    permission: "modify_topic",
    path: "a",
  },
  setValue: {
    call: (f) => f.setValue(actor, { path: "a/b", valueType: "json", value: new Uint8Array() }),
    permission: "update_topic",
    path: "a/b",
  },
  deltaBase: { call: (f) => f.deltaBase(actor, "a/b"), permission: "update_topic", path: "a/b" },
  fetch: { call: (f) => f.fetch(actor, parseSelector("?a/.*"), {}), permission: "select_topic", path: "a" },
  appendEvent: {
    call: (f) => f.appendEvent(actor, { path: "ts/x", valueType: "json", value: new Uint8Array() }),
    permission: "update_topic",
    path: "ts/x",
  },
  queryEvents: {
    call: (f) => f.queryEvents(actor, "ts/x", parseJsonRangeQuery({ fromLast: 1 })),
    permission: "read_topic",
    path: "ts/x",
  },
  subscribe: {
    call: (f) => f.subscribe(actor, "a/+/c", undefined, subscriber, options),
    permission: "select_topic",
    path: "a",
  },
  subscribePattern: {
    call: (f) =>
      f.subscribePattern(actor, parseSelector("*a/b.*"), {
        subscriber,
        filter: "*a/b.*",
        shareGroup: undefined,
        options,
        matches: () => true,
        literalPrefix: "a/b",
      }),
    permission: "select_topic",
    path: "a",
  },
  selectTopics: {
    call: (f) => f.selectTopics(actor, parseSelector(">x/y")),
    permission: "select_topic",
    path: "x/y",
  },
  retained: { call: (f) => [...f.retained(actor, "a/b")], permission: "read_topic", path: "a/b" },
  mayRead: { call: (f) => f.mayRead(actor, "a/b"), permission: "read_topic", path: "a/b" },
  addHandler: {
    call: (f) => f.addHandler(actor, "path", "svc/x", { sessionId: "s1", deliverRequest: noop }),
    permission: "register_handler",
  },
  sendToPath: {
    call: (f) => f.sendToPath(actor, request, noop),
    permission: "send_to_message_handler",
    path: "svc/x",
  },
  sendToSession: {
    call: (f) => f.sendToSession(actor, "s2", request, noop),
    permission: "send_to_session",
    path: "svc/x",
  },
  sendToFilter: {
    call: (f) => f.sendToFilter(actor, () => true, request, noop),
    permission: "send_to_session",
    path: "svc/x",
  },
  listSessions: { call: (f) => f.listSessions(actor, () => true), permission: "view_session" },
  sessionProperties: { call: (f) => f.sessionProperties(actor, "s2"), permission: "view_session" },
  sessionSubscriptions: { call: (f) => f.sessionSubscriptions(actor, "s2"), permission: "view_session" },
  setSessionProperties: {
    call: (f) => f.setSessionProperties(actor, { filter: "all" }, { a: "b" }),
    permission: "modify_session",
  },
  closeSessions: {
    call: (f) => f.closeSessions(actor, { sessionId: "s2" }, "bye"),
    permission: "modify_session",
  },
  subscribeSessions: {
    call: (f) => f.subscribeSessions(actor, { sessionId: "s2" }, parseSelector(">a")),
    permission: "modify_session",
  },
  unsubscribeSessions: {
    call: (f) => f.unsubscribeSessions(actor, { sessionId: "s2" }, parseSelector(">a")),
    permission: "modify_session",
  },
  watchSessions: { call: (f) => f.watchSessions(actor, noop), permission: "view_session" },
  acquireLock: { call: (f) => f.acquireLock(actor, "lock/1"), permission: "update_topic", path: "lock/1" },
  authorizeServer: { call: (f) => f.authorizeServer(actor, "control_server"), permission: "control_server" },
  administerSecurity: {
    call: (f) => void f.administerSecurity(actor, { op: "remove_principal", name: "x" }).catch(() => {}),
    permission: "modify_security",
  },
  authorizeSecurity: {
    call: (f) => f.authorizeSecurity(actor, "modify_security"),
    permission: "modify_security",
  },
};

/** Operations that check nothing, and why. */
const UNCHECKED: Record<string, string> = {
  constructor: "not an operation",
  useAuthorizer: "installs the authorizer (start-up, not a session's operation)",
  unsubscribe: "a session removes its own subscription",
  unsubscribePattern: "a session removes its own subscription",
  isCurrent: "a lookup of a topic the session was already given",
  onTopics: "the door listens for all its sessions; each told session checks mayRead",
  deliverMessage: "server routing of a response; every subscriber is checked by the read gate",
  serverPublish: "the server's own $SYS publish, no session",
  counts: "monitoring sizes, no session",
  retainedCount: "monitoring sizes, no session",
  restoreSubscription: "a kept session's subscription, checked when it was made",
  subscriptionOf: "a lookup of the subscriber's own subscription",
  subscriptionRange: "given only with a topic's delivery, which the read gate checks",
  removeHandler: "a session removes its own handler",
  respond: "a session answers a request it was given",
  openSession: "a session registers itself",
  closeSession: "a session unregisters itself",
  releaseLock: "a session releases its own lock",
  releaseLocks: "a session that ended releases its locks",
  authenticateNow: "authentication makes the session: no actor yet (failed logins are throttled)",
  authenticate: "authentication makes the session: no actor yet (failed logins are throttled)",
  check: "private: the check itself",
  allows: "private: the check itself",
  readable: "private: the read filter of retained",
};

function newCore(authorizer: Authorizer): Core {
  return new Core({ limits: { maxTopics: 100, maxRequestBytes: 1000, removalSweepMs: 60_000 }, authorizer });
}

/** True when calling `op` was refused: NOT_AUTHORIZED thrown, a failed result, false or nothing yielded. */
function refused(op: Call, facade: Facade): boolean {
  let result: unknown;
  try {
    result = op(facade);
  } catch (err) {
    return SkeinError.from(err).code === "NOT_AUTHORIZED";
  }
  if (result === false) return true;
  if (Array.isArray(result)) return result.length === 0;
  return (
    typeof result === "object" && result !== null && (result as { code?: string }).code === "NOT_AUTHORIZED"
  );
}

describe("façade: every operation is checked", () => {
  // The whole chain: the façade's operations live in Facade, TopicFacade and FacadeBase.
  const methods: string[] = [];
  for (
    let p: object | null = Facade.prototype;
    p !== null && p !== Object.prototype;
    p = Object.getPrototypeOf(p) as object | null
  )
    for (const name of Object.getOwnPropertyNames(p)) if (!methods.includes(name)) methods.push(name);

  it("lists every method as checked or unchecked", () => {
    const unlisted = methods.filter((m) => !(m in CHECKED) && !(m in UNCHECKED));
    expect(unlisted).toEqual([]);
    for (const m of [...Object.keys(CHECKED), ...Object.keys(UNCHECKED)])
      if (m !== "constructor") expect(methods).toContain(m);
  });

  for (const [name, { call, permission, path }] of Object.entries(CHECKED)) {
    it(`${name} asks ${permission}${path === undefined ? "" : ` on '${path}'`} first and refuses`, () => {
      const authorizer = new DenyAll();
      const core = newCore(authorizer);
      // Something to act on, put there behind the façade's back.
      core.addTopic("a/b", { type: "binary" });
      core.topics.get("a/b")!.value = update;
      expect(refused(call, core.facade)).toBe(true);
      expect(authorizer.asked[0]).toEqual({ permission, path });
    });
  }

  it("asks nothing and costs no read gate when the authorizer is allowAll", () => {
    const core = new Core({
      limits: { maxTopics: 10, maxRequestBytes: 10, removalSweepMs: 60_000 },
      authorizer: allowAll,
    });
    expect(core.subscriptions.readGate).toBeUndefined();
    expect(core.facade.mayRead(actor, "a")).toBe(true);
  });

  it("caches read decisions per session and path until the authorizer's version changes", () => {
    const authorizer = new DenyAll();
    const core = newCore(authorizer);
    core.facade.mayRead(actor, "a/b");
    core.facade.mayRead(actor, "a/b");
    expect(authorizer.asked).toHaveLength(1);
    authorizer.version++;
    core.facade.mayRead(actor, "a/b");
    expect(authorizer.asked).toHaveLength(2);
  });
});
