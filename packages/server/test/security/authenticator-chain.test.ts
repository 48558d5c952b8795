/**
 * The authenticator chain of the security model as the built-in authenticators use it (issue 14 §3),
 * beyond what authenticators.test.ts covers: authenticators are asked in order (a second one decides
 * when the first abstains), `bad_credentials` is v5 CONNACK 0x86 / 3.1.1 return code 4, `$`-names an
 * authenticator sets are ignored on both doors, and an authenticator that never answers is bounded by
 * `mqtt.connectTimeoutMs` and `sdk.handshakeTimeoutMs`.
 */
import { describe, expect, it, vi } from "vitest";
import type { AuthenticationResult, Authenticator, Credentials } from "../../src/index.js";
import { FakeClock } from "../fake-clock.js";
import { connectClient, startServer } from "../helpers.js";
import { RawClient } from "../raw-client.js";
import { openRaw } from "../sdk/raw-sdk.js";

/** An authenticator answering from a table of principals; records what it was shown. */
function table(answers: Record<string, AuthenticationResult>, seen: Credentials[] = []): Authenticator {
  return {
    authenticate: (credentials) => {
      seen.push(credentials);
      return Promise.resolve(answers[credentials.principal ?? ""] ?? { decision: "abstain" });
    },
  };
}

const first: Record<string, AuthenticationResult> = {
  mallory: { decision: "deny", reason: "not_authorized" },
  eve: { decision: "deny", reason: "bad_credentials" },
};
const second: Record<string, AuthenticationResult> = {
  mallory: { decision: "allow", principal: "mallory" },
  ops: {
    decision: "allow",
    principal: "ops",
    roles: ["admin"],
    properties: { team: "blue", $Roles: "forged", $ClientId: "forged" },
  },
};

describe("authenticators", () => {
  it("are asked in order; deny reasons map to 0x86/0x87 (3.1.1: 4/5); $-names they set are ignored", async () => {
    const seen: Credentials[] = [];
    await using srv = await startServer({}, { authenticators: [table(first, seen), table(second)] });
    // The first authenticator's denial wins over the second's allow.
    await expect(
      connectClient(srv.url(), { protocolVersion: 5, username: "mallory", password: "x" }),
    ).rejects.toMatchObject({ code: 0x87 });
    await expect(connectClient(srv.url(), { protocolVersion: 4, username: "mallory" })).rejects.toMatchObject(
      {
        code: 5,
      },
    );
    await expect(connectClient(srv.url(), { protocolVersion: 5, username: "eve" })).rejects.toMatchObject({
      code: 0x86,
    });
    await expect(connectClient(srv.url(), { protocolVersion: 4, username: "eve" })).rejects.toMatchObject({
      code: 4,
    });
    // The first abstains, the second allows.
    const mqttOps = await connectClient(srv.url("ws"), {
      protocolVersion: 5,
      clientId: "o1",
      username: "ops",
      password: "pw",
    });
    expect(seen.at(-1)).toMatchObject({ transport: "mqtt", principal: "ops", clientId: "o1" });
    const sdk = await openRaw(`ws://127.0.0.1:${srv.addresses.http}/sdk`);
    sdk.send({ type: "hello", versions: [1], principal: "ops", password: "pw" });
    const welcome = await sdk.next("welcome");
    sdk.send({ type: "list_sessions", id: 1 });
    const list = (await sdk.next("result", (f) => f.id === 1)).value as {
      sessionId: string;
      properties: Record<string, string>;
    }[];
    // Only the server sets $-names: the authenticator's $Roles and $ClientId are ignored on both doors.
    expect(list.find((s) => s.properties.$ClientId === "o1")?.properties).toMatchObject({
      $Principal: "ops",
      $Roles: "admin",
      $Transport: "mqtt",
      team: "blue",
    });
    const sdkProperties = list.find((s) => s.sessionId === welcome.sessionId)?.properties;
    expect(sdkProperties).toMatchObject({ $Principal: "ops", $Roles: "admin", team: "blue" });
    expect(sdkProperties?.$ClientId).toBeUndefined();
    sdk.ws.close(1000);
    await mqttOps.endAsync();
  });

  it("an authenticator that never answers is bounded by the connect and hello timeouts", async () => {
    const clock = new FakeClock();
    let asked = 0;
    const silent: Authenticator = {
      authenticate: () => {
        asked++;
        return new Promise(() => {});
      },
    };
    await using srv = await startServer(
      { mqtt: { connectTimeoutMs: 5000 }, sdk: { handshakeTimeoutMs: 5000, heartbeatMs: 86_400_000 } },
      { clock, authenticators: [silent] },
    );
    const raw = await RawClient.open(srv.addresses.mqtt!, 5);
    raw.send({ cmd: "connect", protocolVersion: 5, clientId: "waiting", clean: true, keepalive: 0 });
    const sdk = await openRaw(`ws://127.0.0.1:${srv.addresses.http}/sdk`);
    sdk.send({ type: "hello", versions: [1], principal: "waiting" });
    await vi.waitFor(() => expect(asked).toBe(2));
    clock.advance(5000);
    await raw.waitClosed();
    expect((await sdk.waitClosed()).code).toBe(4008);
  });
});
