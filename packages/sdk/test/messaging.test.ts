/**
 * Request-response messaging between SDK sessions over real sockets (DESIGN §4): request handlers,
 * request streams, the three ways to send, every error code, and reconnections.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  type RequestContext,
  type Session,
  type SessionEvents,
  SkeinError,
  type ValueType,
} from "../src/index.js";
import { FakeClock, type SdkFixture, codeOf, startSdkServer, waitFor, errorOf } from "./helpers.js";

let f: SdkFixture;
afterEach(() => f.close());

describe("request handlers", () => {
  let handler: Session;
  let requester: Session;
  beforeEach(async () => {
    f = await startSdkServer();
    handler = await f.connect();
    requester = await f.connect({ properties: { group: "g1" } });
  });

  it.each<[ValueType, unknown, unknown]>([
    ["json", { a: [1, "x", null] }, { echo: { a: [1, "x", null] } }],
    ["string", "héllo", "HÉLLO"],
    ["binary", Uint8Array.of(1, 2, 255), Uint8Array.of(255, 2, 1)],
    ["int64", 2n ** 62n, -(2n ** 62n)],
    ["double", 2.5, -2.5],
  ])("answers a %s request with a %s response", async (type, request, expected) => {
    const transform = (value: unknown): unknown => {
      if (type === "json") return { echo: value };
      if (type === "string") return (value as string).toUpperCase();
      if (type === "binary") return Uint8Array.from(value as Uint8Array).reverse();
      if (type === "int64") return -(value as bigint);
      return -(value as number);
    };
    const contexts: RequestContext[] = [];
    await handler.messaging.addRequestHandler(
      "svc/echo",
      (value, context) => {
        contexts.push(context);
        return transform(value) as never;
      },
      { requestType: type, responseType: type },
    );
    const response = await requester.messaging.sendRequest("svc/echo/deeper", request as never, {
      requestType: type,
      responseType: type,
    });
    expect(response).toEqual(expected);
    expect(contexts).toEqual([{ sessionId: requester.sessionId, path: "svc/echo/deeper", properties: {} }]);
  });

  it("passes the requester's session properties the handler asked for", async () => {
    const contexts: RequestContext[] = [];
    await handler.messaging.addRequestHandler(
      "props",
      (_request, context) => {
        contexts.push(context);
        return "ok";
      },
      { requestType: "string", responseType: "string", sessionProperties: ["group", "$Transport", "absent"] },
    );
    expect(
      await requester.messaging.sendRequest("props", "?", { requestType: "string", responseType: "string" }),
    ).toBe("ok");
    expect(contexts[0]?.properties).toEqual({ group: "g1", $Transport: "sdk" });
  });

  it("correlates 1,000 concurrent requests answered out of order", async () => {
    // Every request is held until all have arrived, then answered in a shuffled order (7919 is prime,
    // so i * 7919 mod 1000 visits every index once).
    const held: (() => void)[] = [];
    await handler.messaging.addRequestHandler(
      "calc/double",
      async (request) => {
        const { n } = request as { n: number };
        await new Promise<void>((release) => {
          held[n] = release;
          if (Object.keys(held).length === 1000) for (let i = 0; i < 1000; i++) held[(i * 7919) % 1000]!();
        });
        return { n, doubled: n * 2 };
      },
      { requestType: "json", responseType: "json" },
    );
    const responses = await Promise.all(
      Array.from({ length: 1000 }, (_, n) =>
        requester.messaging.sendRequest("calc/double", { n }, { requestType: "json", responseType: "json" }),
      ),
    );
    expect(responses).toEqual(Array.from({ length: 1000 }, (_, n) => ({ n, doubled: n * 2 })));
  });

  it("ends a request the handler does not answer in time with REQUEST_TIMEOUT", async () => {
    await f.close();
    const clock = new FakeClock();
    f = await startSdkServer({}, { clock });
    handler = await f.connect();
    requester = await f.connect();
    let called = 0;
    let reached!: () => void;
    const handling = new Promise<void>((resolve) => (reached = resolve));
    await handler.messaging.addRequestHandler(
      "slow",
      () => {
        called++;
        reached();
        return new Promise<string>(() => {});
      },
      { requestType: "string", responseType: "string" },
    );
    let settled = false;
    const sent = errorOf(
      requester.messaging.sendRequest("slow", "x", {
        requestType: "string",
        responseType: "string",
        timeout: 150,
      }),
    ).finally(() => (settled = true));
    await handling; // the server holds the request, its deadline set
    clock.advance(149);
    await requester.ping(); // an error sent by now would arrive before the ping's answer
    expect(settled).toBe(false);
    clock.advance(1);
    expect((await sent).code).toBe("REQUEST_TIMEOUT");
    expect(called).toBe(1);
  });

  it("ends a request with HANDLER_SESSION_CLOSED when the handler's session closes mid-request", async () => {
    let called!: () => void;
    const reached = new Promise<void>((resolve) => (called = resolve));
    await handler.messaging.addRequestHandler(
      "dropping",
      () => {
        called();
        return new Promise<string>(() => {});
      },
      { requestType: "string", responseType: "string" },
    );
    const pending = errorOf(
      requester.messaging.sendRequest("dropping", "x", { requestType: "string", responseType: "string" }),
    );
    await reached;
    await handler.close();
    expect((await pending).code).toBe("HANDLER_SESSION_CLOSED");
  });

  it.each([
    ["a SkeinError", () => Promise.reject(new SkeinError("INVALID_ARGUMENT", "no such account: 42"))],
    ["an Error", () => Promise.reject(new Error("no such account: 42"))],
    [
      "a synchronous throw",
      () => {
        throw new Error("no such account: 42");
      },
    ],
  ])("reports %s thrown by the handler as HANDLER_FAILED with its message", async (_name, fails) => {
    await handler.messaging.addRequestHandler("accounts", fails, {
      requestType: "string",
      responseType: "string",
    });
    const error = await errorOf(
      requester.messaging.sendRequest("accounts", "42", { requestType: "string", responseType: "string" }),
    );
    expect(error.code).toBe("HANDLER_FAILED");
    expect(error.message).toBe("no such account: 42");
  });

  it("fails a response that is not a value of the response type with HANDLER_FAILED", async () => {
    await handler.messaging.addRequestHandler("count", () => 42 as unknown as bigint, {
      requestType: "string",
      responseType: "int64",
    });
    const error = await errorOf(
      requester.messaging.sendRequest("count", "x", { requestType: "string", responseType: "int64" }),
    );
    expect(error.code).toBe("HANDLER_FAILED");
    expect(error.message).toMatch(/invalid response: 42 is not a value of type int64/);
  });

  it("ends a request to a path nobody handles with NO_HANDLER, also after the handler is closed", async () => {
    const options = { requestType: "string", responseType: "string" } as const;
    expect(await codeOf(requester.messaging.sendRequest("nobody", "x", options))).toBe("NO_HANDLER");
    const registration = await handler.messaging.addRequestHandler("nobody", () => "here", options);
    expect(await requester.messaging.sendRequest("nobody", "x", options)).toBe("here");
    await registration.close();
    await registration.close(); // idempotent
    expect(await codeOf(requester.messaging.sendRequest("nobody", "x", options))).toBe("NO_HANDLER");
  });

  it("refuses a request or expected response of the wrong type before the handler (REQUEST_TYPE_MISMATCH)", async () => {
    let called = 0;
    await handler.messaging.addRequestHandler(
      "typed",
      (n) => {
        called++;
        return String(n);
      },
      { requestType: "int64", responseType: "string" },
    );
    const wrongRequest = await errorOf(
      requester.messaging.sendRequest("typed", "1", { requestType: "string", responseType: "string" }),
    );
    expect(wrongRequest.code).toBe("REQUEST_TYPE_MISMATCH");
    expect(wrongRequest.message).toMatch(/handler takes int64, not string/);
    const wrongResponse = await errorOf(
      requester.messaging.sendRequest("typed", 1n, { requestType: "int64", responseType: "json" }),
    );
    expect(wrongResponse.code).toBe("REQUEST_TYPE_MISMATCH");
    expect(called).toBe(0);
    expect(
      await requester.messaging.sendRequest("typed", 7n, { requestType: "int64", responseType: "string" }),
    ).toBe("7");
  });

  it("sends to the most specific registered path", async () => {
    const other = await f.connect();
    const options = { requestType: "string", responseType: "string" } as const;
    await handler.messaging.addRequestHandler("svc", (_r, { path }) => `svc got ${path}`, options);
    await other.messaging.addRequestHandler("svc/a", (_r, { path }) => `svc/a got ${path}`, options);
    const send = (path: string) => requester.messaging.sendRequest(path, "", options);
    expect(await send("svc/a/b")).toBe("svc/a got svc/a/b");
    expect(await send("svc/a")).toBe("svc/a got svc/a");
    expect(await send("svc/ab")).toBe("svc got svc/ab");
    expect(await send("svc")).toBe("svc got svc");
    expect(await codeOf(send("sv"))).toBe("NO_HANDLER");
  });

  it("spreads requests across the sessions handling a path", async () => {
    const other = await f.connect();
    const options = { requestType: "string", responseType: "string" } as const;
    await handler.messaging.addRequestHandler("work", () => "first", options);
    await other.messaging.addRequestHandler("work", () => "second", options);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => requester.messaging.sendRequest("work", "", options)),
    );
    expect(answers.filter((a) => a === "first")).toHaveLength(10);
    expect(answers.filter((a) => a === "second")).toHaveLength(10);
  });

  it("allows one handler per path per session (HANDLER_EXISTS)", async () => {
    const options = { requestType: "string", responseType: "string" } as const;
    await handler.messaging.addRequestHandler("once", () => "a", options);
    expect(await codeOf(handler.messaging.addRequestHandler("once", () => "b", options))).toBe(
      "HANDLER_EXISTS",
    );
    expect(await requester.messaging.sendRequest("once", "", options)).toBe("a");
  });

  it("checks arguments before sending", async () => {
    const options = { requestType: "int64", responseType: "string" } as const;
    const send = requester.messaging.sendRequest.bind(requester.messaging);
    expect(await codeOf(send("bad/+/path", 1n, options))).toBe("INVALID_PATH");
    expect(await codeOf(send("p", 1 as unknown as bigint, options))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(send("p", 1n, { ...options, timeout: 0 }))).toBe("INVALID_ARGUMENT");
    expect(await codeOf(send("p", 1n, { ...options, requestType: "float" as "int64" }))).toBe(
      "INVALID_ARGUMENT",
    );
    expect(
      await codeOf(
        handler.messaging.addRequestHandler("", () => "", { requestType: "json", responseType: "string" }),
      ),
    ).toBe("INVALID_PATH");
  });
});

describe("limits", () => {
  it("refuses requests and responses larger than limits.maxRequestBytes (TOO_LARGE)", async () => {
    f = await startSdkServer({ limits: { maxRequestBytes: 64 } });
    const handler = await f.connect();
    const requester = await f.connect();
    let called = 0;
    await handler.messaging.addRequestHandler(
      "big",
      (request) => {
        called++;
        return request.repeat(100);
      },
      { requestType: "string", responseType: "string" },
    );
    const options = { requestType: "string", responseType: "string" } as const;
    const request = await errorOf(requester.messaging.sendRequest("big", "x".repeat(65), options));
    expect(request.code).toBe("TOO_LARGE");
    expect(called).toBe(0);
    const response = await errorOf(requester.messaging.sendRequest("big", "x", options));
    expect(response.code).toBe("TOO_LARGE");
    expect(called).toBe(1);
  });
});

describe("request streams", () => {
  beforeEach(async () => {
    f = await startSdkServer();
  });

  it("receive the requests sent to their session, and hear onClose when closed", async () => {
    const target = await f.connect();
    const requester = await f.connect();
    const seen: [string, string, RequestContext][] = [];
    let closed = 0;
    const registration = await target.messaging.setRequestStream(
      "commands",
      {
        onRequest: (path, request, context) => {
          seen.push([path, request, context]);
          return `done: ${request}`;
        },
        onClose: () => closed++,
      },
      { requestType: "string", responseType: "string" },
    );
    const options = { requestType: "string", responseType: "string" } as const;
    const answer = await requester.messaging.sendRequestToSession(
      target.sessionId,
      "commands/reboot",
      "now",
      options,
    );
    expect(answer).toBe("done: now");
    expect(seen).toEqual([
      ["commands/reboot", "now", { sessionId: requester.sessionId, path: "commands/reboot", properties: {} }],
    ]);
    // A request stream is not a path handler, and a session without a stream has none.
    expect(await codeOf(requester.messaging.sendRequest("commands/reboot", "x", options))).toBe("NO_HANDLER");
    expect(
      await codeOf(requester.messaging.sendRequestToSession(requester.sessionId, "commands", "x", options)),
    ).toBe("NO_HANDLER");
    await registration.close();
    expect(closed).toBe(1);
    expect(
      await codeOf(requester.messaging.sendRequestToSession(target.sessionId, "commands", "x", options)),
    ).toBe("NO_HANDLER");
  });

  it("keep a handler and a stream for the same path apart", async () => {
    const target = await f.connect();
    const requester = await f.connect();
    const options = { requestType: "string", responseType: "string" } as const;
    await target.messaging.addRequestHandler("both", () => "handler", options);
    await target.messaging.setRequestStream("both", { onRequest: () => "stream" }, options);
    expect(await requester.messaging.sendRequest("both/x", "", options)).toBe("handler");
    expect(await requester.messaging.sendRequestToSession(target.sessionId, "both/x", "", options)).toBe(
      "stream",
    );
  });

  it("fan out a request to every session a filter selects, collecting the answers per session", async () => {
    const requester = await f.connect();
    const [a, b, noStream, otherGroup] = await Promise.all([
      f.connect({ properties: { group: "g1" } }),
      f.connect({ properties: { group: "g1" } }),
      f.connect({ properties: { group: "g1" } }),
      f.connect({ properties: { group: "g2" } }),
    ]);
    const options = { requestType: "int64", responseType: "json" } as const;
    await a.messaging.setRequestStream("status", { onRequest: (_p, n) => ({ ok: Number(n) }) }, options);
    await b.messaging.setRequestStream(
      "status",
      {
        onRequest: () => {
          throw new Error("b is down");
        },
      },
      options,
    );
    await otherGroup.messaging.setRequestStream("status", { onRequest: () => "g2" }, options);
    const responses: [string, unknown][] = [];
    const errors: [string, string, string][] = [];
    const sent = await requester.messaging.sendRequestToFilter("group eq 'g1'", "status/now", 5n, {
      ...options,
      onResponse: (sessionId, response) => responses.push([sessionId, response]),
      onError: (sessionId, error) => errors.push([sessionId, error.code, error.message]),
    });
    expect(sent).toBe(2);
    await waitFor(() => responses.length + errors.length === 2, "two answers");
    expect(responses).toEqual([[a.sessionId, { ok: 5 }]]);
    expect(errors).toEqual([[b.sessionId, "HANDLER_FAILED", "b is down"]]);
    expect(noStream.sessionId).not.toBe(a.sessionId);
    expect(
      await requester.messaging.sendRequestToFilter("group eq 'nobody'", "status", 1n, {
        ...options,
        onResponse: () => {},
      }),
    ).toBe(0);
  });

  it("report a session that does not answer a filter request in time with REQUEST_TIMEOUT", async () => {
    await f.close();
    const clock = new FakeClock();
    f = await startSdkServer({}, { clock });
    const requester = await f.connect();
    const silent = await f.connect({ properties: { role: "silent" } });
    let reached!: () => void;
    const handling = new Promise<void>((resolve) => (reached = resolve));
    await silent.messaging.setRequestStream(
      "ask",
      {
        onRequest: () => {
          reached();
          return new Promise<string>(() => {});
        },
      },
      {
        requestType: "string",
        responseType: "string",
      },
    );
    const errors: [string, string][] = [];
    const sent = await requester.messaging.sendRequestToFilter("role eq 'silent'", "ask", "?", {
      requestType: "string",
      responseType: "string",
      timeout: 100,
      onResponse: () => {},
      onError: (sessionId, error) => errors.push([sessionId, error.code]),
    });
    expect(sent).toBe(1);
    await handling;
    clock.advance(99);
    await requester.ping(); // an error sent by now would arrive before the ping's answer
    expect(errors).toEqual([]);
    clock.advance(1);
    await waitFor(() => errors.length === 1, "timeout");
    expect(errors).toEqual([[silent.sessionId, "REQUEST_TIMEOUT"]]);
  });

  it("report answers that arrive with the count (refused at once: REQUEST_TYPE_MISMATCH)", async () => {
    const requester = await f.connect();
    const typed = await Promise.all([1, 2, 3].map(() => f.connect({ properties: { kind: "typed" } })));
    for (const s of typed) {
      await s.messaging.setRequestStream(
        "t",
        { onRequest: () => 1 },
        { requestType: "double", responseType: "double" },
      );
    }
    const errors: [string, string][] = [];
    const sent = await requester.messaging.sendRequestToFilter("kind eq 'typed'", "t", "one", {
      requestType: "string",
      responseType: "double",
      onResponse: () => {},
      onError: (sessionId, error) => errors.push([sessionId, error.code]),
    });
    expect(sent).toBe(3);
    await waitFor(() => errors.length === 3, "three refusals");
    expect(errors.map(([id]) => id).sort()).toEqual(typed.map((s) => s.sessionId).sort());
    expect(new Set(errors.map(([, code]) => code))).toEqual(new Set(["REQUEST_TYPE_MISMATCH"]));
  });

  it("refuse an invalid filter before sending, with INVALID_FILTER and the position of the problem", async () => {
    const requester = await f.connect();
    const error = await errorOf(
      requester.messaging.sendRequestToFilter("group eq g1", "x", "", {
        requestType: "string",
        responseType: "string",
        onResponse: () => {},
      }),
    );
    expect(error.code).toBe("INVALID_FILTER");
    expect(error.message).toMatch(/at position 9/);
  });

  it("allow one stream per path per session (HANDLER_EXISTS)", async () => {
    const session = await f.connect();
    const options = { requestType: "string", responseType: "string" } as const;
    await session.messaging.setRequestStream("s", { onRequest: () => "" }, options);
    expect(await codeOf(session.messaging.setRequestStream("s", { onRequest: () => "" }, options))).toBe(
      "HANDLER_EXISTS",
    );
  });

  it("are closed when the session closes", async () => {
    const session = await f.connect();
    let closed = 0;
    await session.messaging.setRequestStream(
      "s",
      { onRequest: () => "", onClose: () => closed++ },
      { requestType: "string", responseType: "string" },
    );
    await session.close();
    expect(closed).toBe(1);
  });
});

describe("reconnection", () => {
  it("keeps handlers and streams across a resumed reconnection; requests sent meanwhile are answered", async () => {
    f = await startSdkServer();
    const handler = await f.connect();
    const requester = await f.connect();
    const options = { requestType: "string", responseType: "string" } as const;
    await handler.messaging.addRequestHandler("r/h", (r) => `handler: ${r}`, options);
    await handler.messaging.setRequestStream("r/s", { onRequest: (_p, r) => `stream: ${r}` }, options);
    const id = handler.sessionId;
    const reconnected = new Promise<SessionEvents["reconnected"]>((resolve) =>
      handler.once("reconnected", resolve),
    );
    handler.simulateDrop();
    // Sent while the handler's connection is down: the server keeps them for it, and replays them.
    const viaPath = requester.messaging.sendRequest("r/h", "a", options);
    const viaSession = requester.messaging.sendRequestToSession(id, "r/s", "b", options);
    expect(await viaPath).toBe("handler: a");
    expect(await viaSession).toBe("stream: b");
    expect((await reconnected).resumed).toBe(true);
    expect(handler.sessionId).toBe(id);
  });

  it("registers handlers and streams again when the reconnection starts a new session", async () => {
    const clock = new FakeClock();
    f = await startSdkServer({ sdk: { reconnectTimeoutMs: 50 } }, { clock });
    const handler = await f.connect({ reconnect: { initialDelayMs: 300, maxDelayMs: 300, timeoutMs: 5000 } });
    const requester = await f.connect();
    const options = { requestType: "string", responseType: "string" } as const;
    let streamClosed = 0;
    await handler.messaging.addRequestHandler("n/h", (r) => `handler: ${r}`, options);
    await handler.messaging.setRequestStream(
      "n/s",
      { onRequest: (_p, r) => `stream: ${r}`, onClose: () => streamClosed++ },
      options,
    );
    const first = handler.sessionId;
    const reconnected = new Promise<SessionEvents["reconnected"]>((resolve) =>
      handler.once("reconnected", resolve),
    );
    handler.simulateDrop();
    // The server sees the drop and, its reconnection timeout passed, ends the session (and its
    // handlers) before the client's reconnection (300 ms later) can resume it.
    await waitFor(() => f.server.server.metrics.get("sdk_connections") === 1, "the server to see the drop");
    clock.advance(50);
    expect(await codeOf(requester.messaging.sendRequest("n/h", "lost", options))).toBe("NO_HANDLER");
    expect((await reconnected).resumed).toBe(false);
    expect(handler.sessionId).not.toBe(first);
    // The new session's registrations are sent at once; give them a moment to be processed.
    await handler.ping();
    expect(await requester.messaging.sendRequest("n/h", "a", options)).toBe("handler: a");
    expect(await requester.messaging.sendRequestToSession(handler.sessionId, "n/s", "b", options)).toBe(
      "stream: b",
    );
    expect(streamClosed).toBe(0);
  });
});

describe("settling", () => {
  it("ignores a late answer to a request that timed out", async () => {
    const clock = new FakeClock();
    f = await startSdkServer({}, { clock });
    const handler = await f.connect();
    const requester = await f.connect();
    const errors: SkeinError[] = [];
    handler.on("error", (e) => errors.push(e));
    let reached!: () => void;
    const handling = new Promise<void>((resolve) => (reached = resolve));
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    await handler.messaging.addRequestHandler(
      "late",
      async () => {
        reached();
        await answered;
        return "too late";
      },
      { requestType: "string", responseType: "string" },
    );
    const sent = codeOf(
      requester.messaging.sendRequest("late", "", {
        requestType: "string",
        responseType: "string",
        timeout: 50,
      }),
    );
    await handling;
    clock.advance(50);
    expect(await sent).toBe("REQUEST_TIMEOUT");
    answer(); // the handler answers now, after the timeout
    // The answer is sent in the microtasks after answer(), so before the first ping's result comes
    // back; the second ping then proves the server has processed it.
    await handler.ping();
    await handler.ping();
    expect(errors).toEqual([]);
    expect(handler.state).toBe("connected");
  });
});
