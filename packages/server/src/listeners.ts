/**
 * The network listeners: MQTT over TCP and TLS, and HTTP(S) with WebSocket upgrade by path. Each hands
 * a byte stream to the MQTT door; bad upgrades are refused with an HTTP status.
 */
import { AddressRateLimiter, rateLimit } from "./core/rate-limit.js";
import { readFileSync } from "node:fs";
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerOptions,
} from "node:http";
import { createServer as createHttpsServer } from "node:https";
import {
  type AddressInfo,
  createServer as createTcpServer,
  type Server as NetServer,
  type Socket,
} from "node:net";
import type { Duplex } from "node:stream";
import { type TLSSocket, type TlsOptions, createServer as createTlsServer } from "node:tls";
import { type Server as WsServer, WebSocketServer, createWebSocketStream, type WebSocket } from "ws";
import type { SkeinConfig } from "./config.js";
import { ConfigError } from "./config-error.js";
import type { Credentials } from "./core/security/types.js";
import type { Logger } from "./core/ports.js";
import type { Metrics } from "./core/metrics.js";
import type { MqttDoor } from "./mqtt/door.js";
import type { SdkDoor } from "./sdk/door.js";
import type { HttpHandler } from "./ops/endpoints.js";
import { oversizeMargin } from "./sdk/options.js";
import { SdkWebSocket } from "./sdk/websocket.js";
import { ConsoleFiles } from "./admin/console.js";

/** Addresses the server listens on (port 0 resolved). */
export interface ListeningAddresses {
  /** The port of MQTT over TCP, when it listens. */
  mqtt?: number;
  /** The port of MQTT over TLS, when it listens. */
  mqtts?: number;
  /** The HTTP port (MQTT over WebSocket and the SDK door), when it listens. */
  http?: number;
  /** The HTTPS port, when it listens. */
  https?: number;
}

type Closable = NetServer | HttpServer;

/** Starts and stops every listener. */
export class Listeners {
  private readonly servers: Closable[] = [];
  /** Each listener by the name {@link ListeningAddresses} gives it. */
  private readonly named = new Map<keyof ListeningAddresses, Closable>();
  private readonly sockets = new Set<Socket>();
  /** A socket closed: it is no longer tracked (called with the socket as `this`). */
  private readonly untrack: (this: Socket) => void;
  private readonly wss: WebSocketServer;
  private readonly sdkWss: WsServer<typeof SdkWebSocket>;
  private readonly console: ConsoleFiles;
  readonly addresses: ListeningAddresses = {};
  /** The TLS options, once read (undefined options: no TLS configured). */
  private tls: { options: TlsOptions | undefined } | undefined;

  /** Connections per remote address (`limits.connectionsPerSecondPerAddress`); undefined: no limit. */
  private readonly connectionRate: AddressRateLimiter | undefined;

  constructor(
    private readonly config: SkeinConfig,
    private readonly mqtt: MqttDoor,
    private readonly sdk: SdkDoor,
    private readonly log: Logger,
    private readonly metrics: Metrics,
    /** The operations endpoints (`/metrics`, `/healthz`, `/readyz`); other plain requests get 404. */
    private readonly ops: HttpHandler = () => false,
  ) {
    const sockets = this.sockets;
    this.untrack = function (this: Socket): void {
      sockets.delete(this);
    };
    const rate = rateLimit(
      config.limits.connectionsPerSecondPerAddress,
      config.limits.connectionBurstPerAddress,
    );
    this.connectionRate = rate && new AddressRateLimiter(rate);
    this.wss = new WebSocketServer({
      noServer: true,
      // At least mqtt.maxPacketSize: one WebSocket message carries one MQTT packet, and the MQTT limit is
      // the door's to enforce, with DISCONNECT 0x95 [MQTT-3.1.2-24] rather than a WebSocket close.
      maxPayload: Math.max(config.http.maxMessageSize, config.mqtt.maxPacketSize + 16),
      // MQTT over WebSocket uses subprotocol "mqtt" [MQTT-6.0.0-3]; accept "mqttv3.1" from old clients.
      handleProtocols: (protocols) =>
        protocols.has("mqtt") ? "mqtt" : protocols.has("mqttv3.1") ? "mqttv3.1" : false,
    });
    // A little room above the largest frame the door processes, so that an oversize frame is answered
    // with TOO_LARGE and the session goes on; beyond that the WebSocket closes with 1009.
    this.console = new ConsoleFiles(config.sdk.path);
    const maxFrameBytes = sdk.options.maxFrameBytes;
    this.sdkWss = new WebSocketServer<typeof SdkWebSocket>({
      noServer: true,
      maxPayload: maxFrameBytes + oversizeMargin(maxFrameBytes),
      // The door keeps its own set of connections: no second set with a close listener per WebSocket.
      clientTracking: false,
      // ws's default, stated: no compression context (tens of KB) per connection.
      perMessageDeflate: false,
      // Events straight to the door's connection: no listener or extension map per WebSocket.
      WebSocket: SdkWebSocket,
    });
  }

  /**
   * Reads the TLS PEM files, so that one that cannot be read stops start-up before anything opens.
   * @throws ConfigError naming the setting and the file
   */
  loadTls(): void {
    this.tls ??= { options: this.tlsOptions() };
  }

  /** Opens every configured listener. */
  async start(): Promise<ListeningAddresses> {
    const { config } = this;
    this.loadTls();
    const tls = this.tls?.options;
    if (config.mqtt.port !== false) {
      this.addresses.mqtt = await this.listen(
        createTcpServer((s) => this.acceptSocket(s, "tcp")),
        config.mqtt.port,
        "mqtt",
      );
    }
    if (tls && config.mqtt.tlsPort !== false) {
      const server = createTlsServer(tls, (s) => {
        if (this.unverifiedCertificate(s)) return;
        this.acceptSocket(s, "tls", peerCertificate(s));
      });
      server.on("tlsClientError", (err) => this.tlsClientError(err));
      this.addresses.mqtts = await this.listen(server, config.mqtt.tlsPort, "mqtts");
    }
    const timeouts = this.httpTimeouts();
    if (config.http.port !== false) {
      this.addresses.http = await this.listen(
        this.httpServer(createHttpServer(timeouts), "ws"),
        config.http.port,
        "http",
      );
    }
    if (tls && config.http.tlsPort !== false) {
      const server = createHttpsServer({ ...tls, ...timeouts });
      server.on("secureConnection", (s: TLSSocket) => this.unverifiedCertificate(s));
      server.on("tlsClientError", (err) => this.tlsClientError(err));
      this.addresses.https = await this.listen(this.httpServer(server, "wss"), config.http.tlsPort, "https");
    }
    return this.addresses;
  }

  /**
   * Stops accepting, gives open sockets a moment to finish their goodbyes (bounded), then destroys
   * what is left.
   */
  async stop(graceMs = 500): Promise<void> {
    const closed = this.servers.map(
      (s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve())),
    );
    const deadline = Date.now() + graceMs;
    while (this.sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(closed);
    this.wss.close();
    this.sdkWss.close();
  }

  /**
   * Node's HTTP timeouts from `http.headersTimeoutMs` and `http.requestTimeoutMs` (Node's defaults are
   * 60 s and 300 s): a client that never finishes its headers is answered 408 and closed. Node checks
   * them every `connectionsCheckingInterval` (default 30 s), so that follows the shorter timeout.
   */
  private httpTimeouts(): ServerOptions {
    const { headersTimeoutMs, requestTimeoutMs } = this.config.http;
    // Node refuses a headers timeout longer than the request timeout.
    const headersTimeout = Math.min(headersTimeoutMs, requestTimeoutMs);
    return {
      headersTimeout,
      requestTimeout: requestTimeoutMs,
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(headersTimeout / 4))),
    };
  }

  /**
   * The TLS options of both TLS listeners, or undefined without a certificate. With `tls.ca`, clients
   * are asked for a certificate, and one the CA did not sign is refused in the handshake unless
   * `tls.clientCertificate` is `optional` (then {@link unverifiedCertificate} refuses a bad one).
   * @throws ConfigError when a PEM file cannot be read (half a configuration is refused by the schema)
   */
  private tlsOptions(): TlsOptions | undefined {
    const { cert, key, ca, clientCertificate } = this.config.tls;
    if (cert === undefined || key === undefined) return undefined;
    const options: TlsOptions = { cert: readPem("tls.cert", cert), key: readPem("tls.key", key) };
    if (ca === undefined) return options;
    return {
      ...options,
      ca: readPem("tls.ca", ca),
      requestCert: true,
      rejectUnauthorized: clientCertificate === "required",
    };
  }

  /**
   * `tls.clientCertificate: optional`: a client may come without a certificate, but one that presents a
   * certificate the CA does not verify is refused (destroyed, counted, logged) rather than let in as if
   * it had presented none. True when the socket was refused.
   */
  private unverifiedCertificate(socket: TLSSocket): boolean {
    socket.on("error", () => {});
    if (socket.authorized || !hasPeerCertificate(socket)) return false;
    this.metrics.inc("tls_client_certificates_refused_total");
    this.log.warn(
      { remote: socket.remoteAddress, problem: String(socket.authorizationError) },
      "TLS client certificate refused",
    );
    socket.destroy();
    return true;
  }

  /** A failed TLS handshake (no certificate, or one the CA did not sign, when required): counted, logged. */
  private tlsClientError(err: Error): void {
    this.metrics.inc("tls_handshake_failures_total");
    this.log.debug({ err: err.message }, "TLS handshake failed");
  }

  /** Configured listeners that are not listening (none before {@link start} has opened them). */
  down(): (keyof ListeningAddresses)[] {
    return [...this.named].filter(([, s]) => !s.listening).map(([name]) => name);
  }

  /**
   * Stops accepting on one listener (its open connections go on); `/readyz` reports it down from then
   * on. For draining one door, and for tests.
   */
  stopListener(name: keyof ListeningAddresses): Promise<void> {
    const server = this.named.get(name);
    return new Promise((resolve) => (server?.listening ? server.close(() => resolve()) : resolve()));
  }

  private listen(server: Closable, port: number, name: keyof ListeningAddresses): Promise<number> {
    this.servers.push(server);
    this.named.set(name, server);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, this.config.host, () => {
        server.off("error", reject);
        server.on("error", (err) => this.log.error({ err: err.message }, "listener error"));
        resolve((server.address() as AddressInfo).port);
      });
    });
  }

  /**
   * The per-address connection rate (`limits.connectionsPerSecondPerAddress`, issue 14 §4), both
   * doors: true when a new connection from `address` is over it (counted; the caller refuses it).
   */
  private overRate(address: string | undefined): boolean {
    const limiter = this.connectionRate;
    if (limiter === undefined || limiter.allow(address ?? "", this.mqtt.core.clock.now())) return false;
    this.metrics.inc("skein_connections_refused_total", { reason: "connection_rate" });
    return true;
  }

  private tooMany(): boolean {
    return this.mqtt.connections.size + this.sdk.connections.size >= this.config.limits.maxConnections;
  }

  private acceptSocket(
    socket: Socket,
    transport: "tcp" | "tls",
    certificate?: Credentials["certificate"],
  ): void {
    socket.on("error", ignoreError); // the connection logs its own errors; never let one escape
    if (this.tooMany()) {
      this.metrics.inc("skein_connections_refused_total", { reason: "max_connections" });
      socket.destroy();
      return;
    }
    if (this.overRate(socket.remoteAddress)) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.track(socket);
    this.mqtt.accept(socket, { remoteAddress: socket.remoteAddress ?? "", transport, certificate });
    // The connection listens for errors itself from here on: one listener left, not an array of two
    // kept by every idle socket (issue 11).
    socket.removeListener("error", ignoreError);
  }

  private httpServer(server: HttpServer, transport: "ws" | "wss"): HttpServer {
    server.on("request", (req, res) => {
      const path = (req.url ?? "/").split("?")[0] ?? "/";
      // The web console's files (src/admin/console.ts), then the probes and metrics (ops/endpoints.ts).
      if (this.console.handle(req, res, path)) return;
      if (!this.ops(req, res)) res.writeHead(404, { "content-type": "text/plain" }).end("not found\n");
    });
    server.on("connection", (s: Socket) => this.track(s));
    server.on("clientError", (err: NodeJS.ErrnoException, socket: Duplex) => this.clientError(err, socket));
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      // A shared function: an arrow here would share this scope's context with the upgrade callbacks
      // and keep the request (its headers and streams, about 1.5 KB) alive as long as the socket.
      socket.on("error", ignoreError);
      const path = (req.url ?? "/").split("?")[0];
      if (path !== this.config.http.mqttPath && path !== this.config.sdk.path) {
        return refuseUpgrade(socket, 404, "Not Found");
      }
      if (this.tooMany()) return refuseUpgrade(socket, 503, "Service Unavailable");
      if (this.overRate(req.socket.remoteAddress)) return refuseUpgrade(socket, 429, "Too Many Requests");
      const certificate = transport === "wss" ? peerCertificate(req.socket as TLSSocket) : undefined;
      if (path === this.config.sdk.path) {
        this.sdkWss.handleUpgrade(req, socket, head, (ws) => void this.sdk.accept(ws, req, certificate));
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws: WebSocket) => {
        if (ws.protocol !== "mqtt" && ws.protocol !== "mqttv3.1") {
          // Clients must offer the "mqtt" subprotocol [MQTT-6.0.0-3].
          ws.close(1002, "subprotocol mqtt required");
          return;
        }
        this.boundFirstMessage(ws, req.socket);
        const stream = createWebSocketStream(ws);
        stream.on("error", () => {});
        this.mqtt.accept(stream, { remoteAddress: req.socket.remoteAddress ?? "", transport, certificate });
      });
    });
    return server;
  }

  /**
   * Bounds what an MQTT WebSocket may make the server hold before its first message (which carries the
   * CONNECT) is whole: `ws` gathers a message up to its `maxPayload` before the door sees a byte, so the
   * door's pre-CONNECT bounds (`mqtt.maxConnectPacketSize` per socket, `mqtt.maxPendingConnectBytes` in
   * all) are applied here to the raw bytes instead. A socket past either is closed, counted and logged.
   */
  private boundFirstMessage(ws: WebSocket, raw: Socket): void {
    const pending = this.mqtt.pendingConnect;
    // A CONNECT of the largest allowed size, split over WebSocket frames (14 bytes of header at most each).
    const limit = this.mqtt.options.maxConnectPacketSize + 1024;
    let held = 0;
    let released = false;
    const release = (): void => {
      released = true;
      raw.off("data", onData);
      ws.off("message", release);
      ws.off("close", release);
      pending.resize(held, 0);
      held = 0;
    };
    const refuse = (reason: string, label: string): void => {
      release();
      this.metrics.inc("mqtt_connections_refused_total", { reason: label });
      this.log.warn({ reason }, "mqtt websocket refused before CONNECT");
      ws.terminate();
    };
    const onData = (chunk: Buffer): void => {
      // ws reads the socket first: a chunk that completed the message has already released the bound.
      if (released) return;
      const next = held + chunk.length;
      if (next > limit)
        return refuse("first message larger than mqtt.maxConnectPacketSize", "connect_too_large");
      if (!pending.resize(held, next))
        return refuse("sockets awaiting CONNECT hold too many bytes", "pending_connect_bytes");
      held = next;
    };
    raw.on("data", onData);
    ws.once("message", release);
    ws.once("close", release);
  }

  /**
   * A request Node could not take: its headers or body did not arrive within the HTTP timeouts (408), or
   * it is not HTTP (400). Counted and logged; the socket is closed.
   */
  private clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const timeout = err.code === "ERR_HTTP_REQUEST_TIMEOUT";
    const reason = timeout ? "timeout" : "bad_request";
    this.metrics.inc("http_client_errors_total", { reason });
    this.log.warn({ code: err.code, reason }, "http request refused");
    if (err.code === "ECONNRESET" || !socket.writable) {
      socket.destroy();
      return;
    }
    refuseUpgrade(socket, timeout ? 408 : 400, timeout ? "Request Timeout" : "Bad Request");
    socket.destroy();
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    // One listener function for every socket ("close" comes once; `once` would wrap it per socket).
    socket.on("close", this.untrack);
  }
}

/** An error listener that only keeps an error from escaping (one function for every socket). */
function ignoreError(): void {}

function refuseUpgrade(socket: Duplex, status: number, text: string): void {
  socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

/** Reads a PEM file named by a `tls` setting; a file that cannot be read stops start-up with one line. */
function readPem(setting: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new ConfigError(`${setting}: cannot read ${file}: ${(err as Error).message}`, err);
  }
}

function hasPeerCertificate(socket: TLSSocket): boolean {
  return Object.keys(socket.getPeerCertificate()).length > 0;
}

/**
 * The names of the client certificate the CA verified (subject CN and subject alternative names as
 * Node writes them, e.g. `DNS:device-1`, `email:a@example.com`), or undefined without one.
 */
function peerCertificate(socket: TLSSocket): Credentials["certificate"] {
  if (!socket.authorized) return undefined;
  const cert = socket.getPeerCertificate();
  if (Object.keys(cert).length === 0) return undefined;
  const cn = (cert.subject as { CN?: string | string[] } | undefined)?.CN;
  return {
    commonName: Array.isArray(cn) ? cn[0] : cn,
    altNames: cert.subjectaltname ? cert.subjectaltname.split(", ") : [],
  };
}
