/**
 * An in-memory stand-in for the server's SDK door, speaking the protocol's handshake, numbering and
 * replay rules, for unit tests of the SDK's link (resumption bookkeeping) without sockets. It can lose
 * frames in either direction to mimic a connection that drops mid-flight.
 */
import {
  type ClientFrame,
  type ServerFrame,
  checkClientFrame,
  createMsgpackEncoder,
  decodeMessage,
} from "@skein/protocol";
import type { Transport, TransportFactory, TransportHandlers } from "../src/transport.js";

const encoder = createMsgpackEncoder();

/** One session the fake server holds. */
export interface FakeSession {
  id: string;
  token: string;
  /** Client frames processed (after hello), counted across connections. */
  processed: number;
  /** Every numbered server frame sent, for replay (unbounded here). */
  log: Uint8Array[];
  /** The client frames processed, in order. */
  frames: ClientFrame[];
  connection: FakeConnection | undefined;
}

/** One connection. */
export class FakeConnection {
  alive = true;
  session: FakeSession | undefined;
  readonly client: Transport;

  constructor(
    private readonly server: FakeServer,
    private readonly handlers: TransportHandlers,
  ) {
    this.client = {
      send: (bytes) => {
        if (!this.alive) return;
        const copy = bytes.slice();
        setTimeout(() => this.alive && this.server.receive(this, copy), 0);
      },
      close: (code, reason) => this.end(code, reason),
      terminate: () => this.end(1006, ""),
    };
    setTimeout(() => this.alive && handlers.onOpen(), 0);
  }

  /** Delivers bytes to the client, unless the connection is gone by then. */
  deliver(bytes: Uint8Array): void {
    setTimeout(() => this.alive && this.handlers.onMessage(bytes), 0);
  }

  /** Ends the connection with `code` (1006: dropped); the client hears it on the next tick. */
  end(code: number, reason = ""): void {
    if (!this.alive) return;
    this.alive = false;
    this.server.disconnected(this, code);
    setTimeout(() => this.handlers.onClose(code, reason), 0);
  }
}

/** The fake server. */
export class FakeServer {
  readonly sessions = new Map<string, FakeSession>();
  readonly connections: FakeConnection[] = [];
  /** Answer requests (ping/set/…) with a result. */
  autoAnswer = true;
  /** Keep sessions for resumption. */
  resumable = true;
  /** Lose incoming client frames (as if lost on the wire). */
  loseIncoming = false;
  /** Requests (frames other than hello and ack) lost while {@link FakeServer.loseIncoming} was set. */
  lostRequests = 0;
  /** Log outgoing frames but do not deliver them (as if lost on the wire). */
  loseOutgoing = false;
  /** Refuse every hello with this close code. */
  refuseWith: number | undefined;
  private nextSession = 1;

  /** The transport factory to give `connect`. */
  readonly transport: TransportFactory = (_url, handlers) => {
    const connection = new FakeConnection(this, handlers);
    this.connections.push(connection);
    return connection.client;
  };

  /** The live connection, if any. */
  get current(): FakeConnection | undefined {
    return this.connections.findLast((c) => c.alive);
  }

  /** Sends a numbered frame to a session (logged for replay; delivered if connected). */
  push(session: FakeSession, frame: ServerFrame): void {
    const bytes = encoder.encode(frame);
    session.log.push(bytes);
    if (session.connection && !this.loseOutgoing) session.connection.deliver(bytes);
  }

  /** @internal */
  receive(connection: FakeConnection, bytes: Uint8Array): void {
    for (const value of decodeMessage(encoder, bytes)) {
      const checked = checkClientFrame(value);
      if (!checked.ok) throw new Error(`fake server: invalid frame: ${checked.problem}`);
      const frame = checked.frame;
      if (this.loseIncoming) {
        if (frame.type !== "hello" && frame.type !== "ack") this.lostRequests++;
        continue;
      }
      if (frame.type === "hello") this.hello(connection, frame);
      else if (frame.type === "ack")
        continue; // the fake keeps its whole log: nothing to drop
      else this.request(connection.session!, frame);
    }
  }

  /** @internal */
  disconnected(connection: FakeConnection, code: number): void {
    const session = connection.session;
    if (!session || session.connection !== connection) return;
    session.connection = undefined;
    if (code === 1000 || !this.resumable) this.sessions.delete(session.id);
  }

  private hello(connection: FakeConnection, frame: Extract<ClientFrame, { type: "hello" }>): void {
    if (this.refuseWith !== undefined) return connection.end(this.refuseWith, "refused");
    const known = frame.resume && this.sessions.get(frame.resume.sessionId);
    const resumed = known && known.token === frame.resume?.token ? known : undefined;
    const session: FakeSession = resumed ?? {
      id: `s${this.nextSession++}`,
      token: "t",
      processed: 0,
      log: [],
      frames: [],
      connection: undefined,
    };
    this.sessions.set(session.id, session);
    session.connection?.end(4007, "taken over");
    session.connection = connection;
    connection.session = session;
    const welcome: ServerFrame = {
      type: "welcome",
      version: 1,
      sessionId: session.id,
      token: session.token,
      reconnectTimeoutMs: 1000,
      resumed: resumed !== undefined,
      processed: session.processed,
    };
    connection.deliver(encoder.encode(welcome));
    if (resumed) for (const bytes of session.log.slice(frame.resume!.received)) connection.deliver(bytes);
  }

  private request(session: FakeSession, frame: Exclude<ClientFrame, { type: "hello" | "ack" }>): void {
    session.processed++;
    session.frames.push(frame);
    if (!this.autoAnswer) return;
    const value = frame.type === "set" ? { created: false } : frame.type === "lock" ? true : undefined;
    this.push(session, { type: "result", id: frame.id, ...(value !== undefined && { value }) });
  }
}
