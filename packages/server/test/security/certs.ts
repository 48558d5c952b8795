/**
 * Test certificates made with the `openssl` command in a temporary directory: a CA, a server
 * certificate for 127.0.0.1 signed by it, client certificates signed by it, and a client certificate
 * signed by a CA the server does not know.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** PEM file paths and contents of one generated set. */
export interface TestCerts {
  dir: string;
  /** Paths of PEM files. */
  files: { ca: string; serverCert: string; serverKey: string };
  /** PEM contents for clients. */
  ca: Buffer;
  /** Client certificate CN=device-1, SAN DNS:device-1.example and email:device-1@example.com. */
  client: { cert: Buffer; key: Buffer };
  /** Client certificate CN=intruder signed by a CA the server does not trust. */
  rogue: { cert: Buffer; key: Buffer };
  remove(): void;
}

function openssl(dir: string, args: string[]): void {
  execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
}

/** Signs a new key's certificate with `ca` (file stem), with extensions `ext`. */
function issue(dir: string, name: string, subject: string, ca: string, ext: string): void {
  writeFileSync(join(dir, `${name}.ext`), ext);
  openssl(dir, [
    "req",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.csr`,
    "-subj",
    subject,
  ]);
  openssl(dir, [
    "x509",
    "-req",
    "-in",
    `${name}.csr`,
    "-CA",
    `${ca}.crt`,
    "-CAkey",
    `${ca}.key`,
    "-CAcreateserial",
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-sha256",
    "-extfile",
    `${name}.ext`,
  ]);
}

function selfSigned(dir: string, name: string, subject: string): void {
  openssl(dir, [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    `${name}.key`,
    "-out",
    `${name}.crt`,
    "-days",
    "2",
    "-subj",
    subject,
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
}

/** Makes a fresh set of certificates (about a second of openssl work). */
export function makeCerts(): TestCerts {
  const dir = mkdtempSync(join(tmpdir(), "skein-certs-"));
  selfSigned(dir, "ca", "/CN=Skein Test CA");
  selfSigned(dir, "rogue-ca", "/CN=Rogue CA");
  issue(
    dir,
    "server",
    "/CN=127.0.0.1",
    "ca",
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n",
  );
  issue(
    dir,
    "client",
    "/CN=device-1",
    "ca",
    "subjectAltName=DNS:device-1.example,email:device-1@example.com\nextendedKeyUsage=clientAuth\n",
  );
  issue(dir, "rogue", "/CN=intruder", "rogue-ca", "extendedKeyUsage=clientAuth\n");
  const read = (file: string) => readFileSync(join(dir, file));
  return {
    dir,
    files: {
      ca: join(dir, "ca.crt"),
      serverCert: join(dir, "server.crt"),
      serverKey: join(dir, "server.key"),
    },
    ca: read("ca.crt"),
    client: { cert: read("client.crt"), key: read("client.key") },
    rogue: { cert: read("rogue.crt"), key: read("rogue.key") },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
