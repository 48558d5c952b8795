/**
 * Requests sent to a session filter, waiting for their answers. The server answers `send_request`
 * with the number of sessions it sent the request to, then pushes one `filter_response` or
 * `filter_error` per session, carrying the `send_request`'s id. Answers may arrive in the same
 * message as that result, so a request is registered by id before its frame is sent; it is forgotten
 * once every session has answered (the server times out those that do not: `REQUEST_TIMEOUT`).
 *
 * @module
 */
import { type ServerFrameOf, SkeinError } from "@skein/protocol";
import { rethrowLater } from "../emitter.js";

/** What to do with the answers to one filter request. */
export interface FilterAnswers {
  /** Decodes a response's bytes. @throws SkeinError when they are not of the response type */
  decode(bytes: Uint8Array): unknown;
  /** One session's response, decoded. */
  onResponse(sessionId: string, response: unknown): void;
  /** One session's failure. */
  onError(sessionId: string, error: SkeinError): void;
}

interface Waiting {
  answers: FilterAnswers;
  /** How many sessions the request reached; undefined until the result arrived. */
  expected: number | undefined;
  answered: number;
}

/** The filter requests of a session that still wait for answers. */
export class FilterRequests {
  private readonly waiting = new Map<number, Waiting>();

  /** How many filter requests wait for answers. */
  get size(): number {
    return this.waiting.size;
  }

  /** Request `id` is about to be sent. */
  sent(id: number, answers: FilterAnswers): void {
    this.waiting.set(id, { answers, expected: undefined, answered: 0 });
  }

  /** Its result arrived: it reached `count` sessions. */
  counted(id: number, count: number): void {
    const w = this.waiting.get(id);
    if (!w) return;
    w.expected = count;
    this.forgetIfDone(id, w);
  }

  /** It failed as a whole (no answers follow). */
  failed(id: number): void {
    this.waiting.delete(id);
  }

  /** One session's answer. */
  answer(frame: ServerFrameOf<"filter_response" | "filter_error">): void {
    const w = this.waiting.get(frame.id);
    if (!w) return;
    w.answered++;
    this.forgetIfDone(frame.id, w);
    if (frame.type === "filter_error") {
      return call(() => w.answers.onError(frame.sessionId, SkeinError.fromWire(frame)));
    }
    let response: unknown;
    try {
      response = w.answers.decode(frame.value);
    } catch (err) {
      return call(() => w.answers.onError(frame.sessionId, SkeinError.from(err)));
    }
    call(() => w.answers.onResponse(frame.sessionId, response));
  }

  /** The session is new or closed: answers still due will not come. */
  clear(): void {
    this.waiting.clear();
  }

  private forgetIfDone(id: number, w: Waiting): void {
    if (w.expected !== undefined && w.answered >= w.expected) this.waiting.delete(id);
  }
}

/** Calls an application callback; what it throws surfaces without breaking the SDK. */
function call(callback: () => void): void {
  try {
    callback();
  } catch (err) {
    rethrowLater(err);
  }
}
