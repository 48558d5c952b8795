import { SkeinError, errorCodeNumber } from "@skein/protocol";
import { describe, expect, it } from "vitest";
import { FilterRequests } from "./filter-requests.js";

function recording() {
  const events: string[] = [];
  return {
    events,
    answers: {
      decode: (bytes: Uint8Array) => {
        const text = new TextDecoder().decode(bytes);
        if (text === "bad") throw new SkeinError("PAYLOAD_INVALID", "not a value");
        return text;
      },
      onResponse: (sessionId: string, response: unknown) => events.push(`${sessionId}=${String(response)}`),
      onError: (sessionId: string, error: SkeinError) => events.push(`${sessionId}!${error.code}`),
    },
  };
}

const response = (id: number, sessionId: string, text: string) => ({
  type: "filter_response" as const,
  id,
  sessionId,
  value: new TextEncoder().encode(text),
});

describe("FilterRequests", () => {
  it("delivers answers that arrive before the count, and forgets the request once all have answered", () => {
    const books = new FilterRequests();
    const r = recording();
    books.sent(7, r.answers);
    books.answer(response(7, "a", "x"));
    books.answer({
      type: "filter_error",
      id: 7,
      sessionId: "b",
      code: errorCodeNumber("REQUEST_TIMEOUT"),
      message: "",
    });
    expect(books.size).toBe(1);
    books.counted(7, 3);
    books.answer(response(7, "c", "bad"));
    expect(r.events).toEqual(["a=x", "b!REQUEST_TIMEOUT", "c!PAYLOAD_INVALID"]);
    expect(books.size).toBe(0);
    books.answer(response(7, "d", "late"));
    expect(r.events).toHaveLength(3);
  });

  it("forgets a request that reached no session, or failed, and ignores unknown ids", () => {
    const books = new FilterRequests();
    const r = recording();
    books.sent(1, r.answers);
    books.counted(1, 0);
    books.sent(2, r.answers);
    books.failed(2);
    books.answer(response(3, "a", "x"));
    expect(books.size).toBe(0);
    expect(r.events).toEqual([]);
  });

  it("drops what waits when cleared (a new session)", () => {
    const books = new FilterRequests();
    const r = recording();
    books.sent(1, r.answers);
    books.counted(1, 2);
    books.clear();
    books.answer(response(1, "a", "x"));
    expect(r.events).toEqual([]);
  });
});
