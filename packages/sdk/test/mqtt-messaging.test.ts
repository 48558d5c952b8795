/**
 * Request-response across the two doors (DESIGN §4): plain MQTT.js 5 clients as requesters
 * (`$request/<path>` with a Response Topic and Correlation Data) and as handlers (subscribed to
 * `$request/<path>`, answering on the Response Topic), with SDK sessions on the other side.
 */
import { ANONYMOUS_ADMIN } from "../../server/test/helpers.js";
import type { MqttClient } from "mqtt";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Session } from "../src/index.js";
import { type SdkFixture, codeOf, collect, connectClient, startSdkServer, waitFor } from "./helpers.js";

let f: SdkFixture;
let session: Session;
const clients: MqttClient[] = [];

/** An MQTT 5 client, ended at teardown. */
async function mqtt5(options: Parameters<typeof connectClient>[1] = {}): Promise<MqttClient> {
  const client = await connectClient(f.server.url(), { protocolVersion: 5, ...options });
  clients.push(client);
  return client;
}

/**
 * Makes `client` a handler of `path`: every request is answered on its Response Topic, with its
 * Correlation Data, by `answer`.
 */
async function answerRequests(client: MqttClient, path: string, answer: (payload: string) => string) {
  client.on("message", (topic, payload, packet) => {
    const responseTopic = packet.properties?.responseTopic;
    // Requests to paths below `path` come too, published to `$request/<the request's path>`.
    if (!topic.startsWith(`$request/${path}`) || !responseTopic) return;
    client.publish(responseTopic, answer(payload.toString()), {
      qos: 1,
      properties: { correlationData: packet.properties?.correlationData },
    });
  });
  await client.subscribeAsync(`$request/${path}`, { qos: 1 });
}

beforeEach(async () => {
  f = await startSdkServer(ANONYMOUS_ADMIN);
  session = await f.connect();
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.endAsync()));
  await f.close();
});

describe("an MQTT 5 requester", () => {
  it("calls an SDK handler: the answer arrives on its Response Topic with its Correlation Data", async () => {
    const seen: [unknown, string][] = [];
    await session.messaging.addRequestHandler(
      "calc/sum",
      (request, { sessionId }) => {
        seen.push([request, sessionId]);
        return { sum: (request as number[]).reduce((a, b) => a + b, 0) };
      },
      { requestType: "json", responseType: "json" },
    );
    const requester = await mqtt5();
    const got = collect(requester);
    await requester.subscribeAsync("replies/me", { qos: 1 });
    const correlationData = Buffer.from("call-1");
    await requester.publishAsync("$request/calc/sum", "[1,2,3]", {
      qos: 1,
      properties: { responseTopic: "replies/me", correlationData, contentType: "application/json" },
    });
    await waitFor(() => got.length === 1, "the response");
    const response = got[0]!;
    expect(response.topic).toBe("replies/me");
    expect(JSON.parse(response.payload.toString())).toEqual({ sum: 6 });
    expect(response.packet.properties?.correlationData).toEqual(correlationData);
    expect(response.packet.properties?.contentType).toBe("application/json");
    const [[request, requesterId]] = seen as [[unknown, string]];
    expect(request).toEqual([1, 2, 3]);
    const [info] = await session.clients.list(`$SessionId eq '${requesterId}'`);
    expect(info?.properties.$Transport).toBe("mqtt");
  });

  it("is told a failure on its Response Topic (user properties skein-error and skein-error-message)", async () => {
    await session.messaging.addRequestHandler(
      "fails",
      () => {
        throw new Error("out of stock");
      },
      { requestType: "string", responseType: "string" },
    );
    const requester = await mqtt5();
    const got = collect(requester);
    await requester.subscribeAsync("replies/#", { qos: 1 });
    for (const [path, correlation] of [
      ["fails", "a"],
      ["nobody", "b"],
    ] as const) {
      await requester.publishAsync(`$request/${path}`, "x", {
        qos: 1,
        properties: { responseTopic: `replies/${path}`, correlationData: Buffer.from(correlation) },
      });
    }
    await waitFor(() => got.length === 2, "two answers");
    const byTopic = Object.fromEntries(got.map((m) => [m.topic, m]));
    expect(byTopic["replies/fails"]?.payload.length).toBe(0);
    expect(byTopic["replies/fails"]?.packet.properties?.userProperties).toEqual({
      "skein-error": "HANDLER_FAILED",
      "skein-error-message": "out of stock",
    });
    expect(byTopic["replies/fails"]?.packet.properties?.correlationData).toEqual(Buffer.from("a"));
    expect(byTopic["replies/nobody"]?.packet.properties?.userProperties?.["skein-error"]).toBe("NO_HANDLER");
  });
});

describe("an MQTT 5 handler", () => {
  it("answers an SDK requester", async () => {
    const responder = await mqtt5();
    const topics = collect(responder);
    await answerRequests(responder, "greet", (name) => `hello ${name}`);
    expect(
      await session.messaging.sendRequest("greet/formal", "Ada", {
        requestType: "string",
        responseType: "string",
      }),
    ).toBe("hello Ada");
    // Delivered on the subscribed topic; the path the request went to is in skein-path.
    expect(topics.map((m) => m.topic)).toEqual(["$request/greet"]);
    expect(topics[0]?.packet.properties?.userProperties?.["skein-path"]).toBe("greet/formal");
    expect(topics[0]?.packet.properties?.userProperties?.["skein-session"]).toBe(session.sessionId);
  });

  it("is reached by sendRequestToSession, and stops being a handler when it unsubscribes", async () => {
    const responder = await mqtt5({ clientId: "device-7" });
    await answerRequests(responder, "ping", () => "pong");
    const [device] = await session.clients.list("$ClientId eq 'device-7'");
    const options = { requestType: "string", responseType: "string" } as const;
    expect(await session.messaging.sendRequestToSession(device!.sessionId, "ping", "", options)).toBe("pong");
    await responder.unsubscribeAsync("$request/ping");
    expect(await codeOf(session.messaging.sendRequest("ping", "", options))).toBe("NO_HANDLER");
    expect(await codeOf(session.messaging.sendRequestToSession(device!.sessionId, "ping", "", options))).toBe(
      "NO_HANDLER",
    );
  });

  it("has a response of the wrong type refused (REQUEST_TYPE_MISMATCH)", async () => {
    const responder = await mqtt5();
    await answerRequests(responder, "num", () => "not a number");
    expect(
      await codeOf(
        session.messaging.sendRequest("num", "", { requestType: "string", responseType: "double" }),
      ),
    ).toBe("REQUEST_TYPE_MISMATCH");
  });
});

describe("filter fan-out", () => {
  it("reaches 100 mixed sessions: 50 SDK request streams and 50 MQTT 5 handlers", async () => {
    const sdk = await Promise.all(
      Array.from({ length: 50 }, () => f.connect({ properties: { group: "g1" } })),
    );
    await Promise.all(
      sdk.map((s, i) =>
        s.messaging.setRequestStream(
          "fleet/status",
          { onRequest: (_path, request) => `sdk-${i} ${request}` },
          { requestType: "string", responseType: "string" },
        ),
      ),
    );
    const devices = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        mqtt5({ clientId: `dev-${i}`, properties: { userProperties: { group: "g1" } } }),
      ),
    );
    await Promise.all(devices.map((d, i) => answerRequests(d, "fleet/status", (r) => `mqtt-${i} ${r}`)));
    // Others: same path, another group; and a group member without a handler.
    const outsider = await f.connect({ properties: { group: "g2" } });
    await outsider.messaging.setRequestStream(
      "fleet/status",
      { onRequest: () => "outsider" },
      {
        requestType: "string",
        responseType: "string",
      },
    );
    await mqtt5({ properties: { userProperties: { group: "g1" } } });

    const responses = new Map<string, string>();
    const errors: string[] = [];
    const sent = await session.messaging.sendRequestToFilter("group eq 'g1'", "fleet/status", "ok?", {
      requestType: "string",
      responseType: "string",
      onResponse: (sessionId, response) => responses.set(sessionId, response),
      onError: (sessionId, error) => errors.push(`${sessionId}: ${error.code}`),
    });
    expect(sent).toBe(100);
    await waitFor(() => responses.size + errors.length === 100, "100 answers", 10_000);
    expect(errors).toEqual([]);
    for (const [i, s] of sdk.entries()) expect(responses.get(s.sessionId)).toBe(`sdk-${i} ok?`);
    const mqttIds = await session.clients.list("$Transport eq 'mqtt' and group eq 'g1'");
    const byClientId = new Map(mqttIds.map((m) => [m.properties.$ClientId, m.sessionId]));
    for (let i = 0; i < 50; i++) expect(responses.get(byClientId.get(`dev-${i}`)!)).toBe(`mqtt-${i} ok?`);
  });
});
