// Request-response between two SDK sessions (session.messaging).
//
// What it shows:
// - a "service" session registering request handlers on message paths, with declared request and
//   response types (json -> json, string -> int64), and asking for a requester's session property;
// - a "client" session sending typed requests with a timeout;
// - the distinct errors a request can end with: HANDLER_FAILED (the handler threw; its message
//   travels), NO_HANDLER, REQUEST_TYPE_MISMATCH (checked before the handler is called).
//
// Run it:
//   npm run build && node examples/rpc-sdk.mjs        (embedded server on free ports)
//   SKEIN_SDK_URL=ws://127.0.0.1:8080/sdk node examples/rpc-sdk.mjs    (a server from `npm start`)
// It sends a few requests and exits.
import { SkeinError, connect } from "@skein/sdk";
import { useSkein } from "./lib/server.mjs";

const skein = await useSkein();
const service = await connect(skein.sdkUrl, { properties: { role: "service" } });
const client = await connect(skein.sdkUrl, { properties: { role: "client", app: "rpc-demo" } });

// The service: Celsius to Fahrenheit. A request to thermo/convert or to a path below it (such as
// thermo/convert/strict) reaches this handler, unless a more specific one is registered.
const converter = await service.messaging.addRequestHandler(
  "thermo/convert",
  (request, { sessionId, path, properties }) => {
    console.log(`service: ${path} from ${properties.app ?? "?"} (session ${sessionId})`);
    if (typeof request?.celsius !== "number") throw new Error("celsius must be a number");
    const fahrenheit = Math.round((request.celsius * 1.8 + 32) * 10) / 10;
    return { celsius: request.celsius, fahrenheit };
  },
  { requestType: "json", responseType: "json", sessionProperties: ["app"] },
);
// Typed values both ways: a string in, an int64 (a bigint in JS) out.
const lengths = await service.messaging.addRequestHandler("text/length", (text) => BigInt(text.length), {
  requestType: "string",
  responseType: "int64",
});

// The client.
const json = { requestType: "json", responseType: "json", timeout: 5000 };
const converted = await client.messaging.sendRequest("thermo/convert", { celsius: 21.5 }, json);
console.log(`requester: convert {"celsius":21.5} -> ${JSON.stringify(converted)}`);
const length = await client.messaging.sendRequest("text/length", "héllo wörld", {
  requestType: "string",
  responseType: "int64",
});
console.log(`requester: text/length "héllo wörld" -> ${length}n (${typeof length})`);

await expectFailure('convert {"celsius":"hot"}', () =>
  client.messaging.sendRequest("thermo/convert", { celsius: "hot" }, json),
);
await expectFailure("nobody/here", () => client.messaging.sendRequest("nobody/here", {}, json));
await expectFailure("text/length as json", () => client.messaging.sendRequest("text/length", "x", json));

await converter.close();
await lengths.close();
await client.close();
await service.close();
await skein.close();
console.log("done");

async function expectFailure(what, send) {
  try {
    await send();
    throw new Error(`${what} should have failed`);
  } catch (err) {
    if (!(err instanceof SkeinError)) throw err;
    console.log(`requester: ${what} failed with ${err.code}: ${err.message}`);
  }
}
