/**
 * An unexpected exception inside the server reaches the client as `INTERNAL` with the error table's
 * generic message only; its text (which may name files, internals or other sessions' data) goes to
 * the server's log. Provoked here through a store whose `removeTopic` commit fails, reached by an SDK
 * `remove_topics` of a persistent topic (answered only after the commit).
 */
import { ErrorCodes, SkeinError } from "@skein/protocol";
import { afterEach, describe, expect, it } from "vitest";
import { type Logger, MemoryStorage, createServer } from "../../server/src/index.js";
import { connect } from "../src/index.js";

const SECRET = "EACCES: permission denied, open '/var/lib/skein/secret.db'";

class FailingStore extends MemoryStorage {
  override removeTopic(): Promise<void> {
    return Promise.reject(new Error(SECRET));
  }
}

function recordingLogger(lines: { obj: object; msg: string | undefined }[]): Logger {
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: () => {},
    error: (obj, msg) => void lines.push({ obj, msg }),
    child: () => logger,
  };
  return logger;
}

describe("internal errors", () => {
  const cleanup: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  it("reach an SDK client as INTERNAL with the generic message, and the detail is logged", async () => {
    const logged: { obj: object; msg: string | undefined }[] = [];
    const server = createServer(
      {
        host: "127.0.0.1",
        logLevel: "silent",
        mqtt: { port: 0, tlsPort: false },
        http: { port: 0, tlsPort: false },
      },
      { store: new FailingStore(), logger: recordingLogger(logged) },
    );
    const { http } = await server.listen();
    cleanup.push(() => server.close());
    const session = await connect(`ws://127.0.0.1:${http}/sdk`, { reconnect: false });
    cleanup.push(() => session.close());

    await session.topics.add("kept/a", { type: "string", properties: { persistent: true } });
    const failure = await session.topics.remove(">kept/a").then(
      () => undefined,
      (err: unknown) => err,
    );

    expect(failure).toBeInstanceOf(SkeinError);
    expect((failure as SkeinError).code).toBe("INTERNAL");
    expect((failure as SkeinError).message).toBe(ErrorCodes.INTERNAL.message);
    expect(
      JSON.stringify(
        logged.map((l) => l.obj),
        (_k, v: unknown) => (v instanceof Error ? v.message : v),
      ),
    ).toContain(SECRET);
    expect(server.metrics.get("sdk_request_errors_total", { code: "INTERNAL" })).toBe(1);
  });
});
