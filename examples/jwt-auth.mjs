// JWT authentication on both doors (docs/security.md "JWT").
//
// What it shows:
// - a server with `security.jwt` (HS256 and a shared secret; RS256/ES256 take a key file or a JWKS
//   file instead), mapping the token's claims onto the session: `sub` -> principal, `roles` -> roles,
//   `site` -> a session property; the roles themselves are defined in the security store
//   (`security.roles`), which says what they may do;
// - minting a token with jose (what an identity service would do) and connecting with it:
//   MQTT.js sends it as the CONNECT password, the SDK as its hello password;
// - a token signed with another secret refused with CONNACK 0x86 (Bad User Name or Password).
//
// Run it:
//   npm run build && node examples/jwt-auth.mjs      (embedded server on free ports)
// It connects, prints what the server made of the token, and exits.
import { createServer } from "@skein/server";
import { connect } from "@skein/sdk";
import { SignJWT } from "jose";
import mqtt from "mqtt";

// In production the secret comes from a secret store, never from source code.
const SECRET = "example-secret-of-at-least-32-bytes-long";

const server = createServer({
  host: "127.0.0.1",
  logLevel: "error", // the refused token below would log a warning
  mqtt: { port: 0, tlsPort: false },
  http: { port: 0, tlsPort: false },
  security: {
    jwt: { algorithm: "HS256", secret: SECRET, issuer: "example-idp", properties: { site: "site" } },
    // What the token's roles may do (docs/security.md "Roles and permissions").
    roles: [
      { name: "sensors", paths: { sensors: ["select_topic", "read_topic", "update_topic", "modify_topic"] } },
      { name: "dashboards", global: ["view_session"], paths: { "": ["select_topic", "read_topic"] } },
    ],
  },
});
const ports = await server.listen();

/** What an identity service hands a client: a token valid for `ttlSec` seconds. */
function mint(secret, ttlSec = 60) {
  return new SignJWT({ roles: ["sensors", "dashboards"], site: "north" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject("alice")
    .setIssuer("example-idp")
    .setIssuedAt()
    .setExpirationTime(`${ttlSec}s`)
    .sign(Buffer.from(secret));
}

const token = await mint(SECRET);
console.log("minted a token for alice, valid for 60 s");

// MQTT: the token is the password; the user name is required by MQTT 3.1.1 and ignored by the JWT check.
const device = await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, {
  protocolVersion: 5,
  clientId: "alice-device",
  username: "alice",
  password: token,
  reconnectPeriod: 0,
});
console.log("mqtt: connected with the token");

// SDK: the token is the hello's password. Its session sees what the server made of both sessions.
const app = await connect(`ws://127.0.0.1:${ports.http}/sdk`, { password: token });
const own = await app.clients.getProperties(app.sessionId);
console.log(`sdk: $Principal=${own.$Principal} $Roles=${own.$Roles} site=${own.site}`);
for (const { properties } of await app.clients.list("$Transport eq 'mqtt'")) {
  console.log(`sdk: mqtt session ${properties.$ClientId}: $Principal=${properties.$Principal}`);
}

// A token signed with another secret: refused.
try {
  await mqtt.connectAsync(`mqtt://127.0.0.1:${ports.mqtt}`, {
    protocolVersion: 5,
    username: "alice",
    password: await mint("not-the-secret-but-as-long-as-one-32"),
    reconnectPeriod: 0,
  });
  console.log("forged token accepted?!");
  process.exitCode = 1;
} catch (err) {
  console.log(`mqtt: forged token refused with CONNACK 0x${err.code.toString(16)}`);
}

await device.endAsync();
await app.close();
await server.close();
console.log("done");
