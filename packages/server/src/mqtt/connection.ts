/**
 * One MQTT network connection: framing, parsing, the per-connection state of the protocol (version,
 * keep alive, topic aliases, limits the client announced), batched writes, and an orderly close. The
 * packets themselves are handled in `handlers/`, dispatched by {@link MqttConnection.dispatch}.
 */
import type { TokenBucket } from "../core/rate-limit.js";
import type { Duplex } from "node:stream";
import mqtt from "mqtt-packet";
import type { Packet } from "mqtt-packet";
import { type Logger, type Timer, logsAt } from "../core/ports.js";
import type { Credentials } from "../core/security/types.js";
import { armExpiry } from "../security/authenticated.js";
import type { WheelEntry } from "../core/timer-wheel.js";
import type { CommitAcks } from "./commit-acks.js";
import type { MqttDoor } from "./door.js";
import { Framer, type FrameError } from "./framer.js";
import { handleConnect } from "./handlers/connect.js";
import { handleDisconnect } from "./handlers/disconnect.js";
import { handlePuback, handlePubcomp, handlePubrec, handlePubrel } from "./handlers/acks.js";
import { handlePublish } from "./handlers/publish.js";
import { handleSubscribe } from "./handlers/subscribe.js";
import { handleUnsubscribe } from "./handlers/unsubscribe.js";
import { encodePublish } from "./outbound.js";
import { ProtocolViolation } from "./parser.js";
import { Reason, reasonName } from "./reason-codes.js";
import type { MqttSession, Outgoing, SessionLink } from "./session.js";

/** Facts about where a connection came from. */
export interface ConnectionInfo {
  remoteAddress: string;
  /** `tcp`, `tls`, `ws` or `wss`. */
  transport: string;
  /** The client certificate the listener verified against `tls.ca`, if any. */
  certificate?: Credentials["certificate"];
}

/** How a connection ends. */
export interface CloseOptions {
  /** v5 DISCONNECT reason code to send first (when the client is v5 and connected). */
  reason?: number;
  /** Reason String, sent when the client did not turn problem information off. */
  message?: string;
  /** Publish the will (abnormal end). Default true. */
  publishWill?: boolean;
  /** Counted as a protocol error under this label. */
  protocolError?: string;
  /** Why it ends, for the log and `skein_disconnects_total` when neither `protocolError` nor `reason` says. */
  cause?: "client_disconnect" | "connection_lost" | "pending_connect_bytes";
}

/** A live MQTT connection. */
export class MqttConnection implements SessionLink, WheelEntry {
  readonly framer: Framer;
  /** Protocol level strings and properties are parsed for (set by CONNECT). */
  parserVersion = 4;
  protocolVersion = 4;
  state: "awaiting-connect" | "connected" | "closed" = "awaiting-connect";
  session: MqttSession | undefined;
  clientId = "";
  /** What an idle connection never uses, made on first use ({@link ConnectionExtras}). */
  private extras: ConnectionExtras | undefined;
  /** Keep alive in effect (s); 0 = none. */
  keepAliveSec = 0;
  /** Client's Receive Maximum, capped by the server's maxInflight. */
  inflightLimit: number;
  /**
   * When a packet last arrived, in ms since the door started ({@link MqttDoor.epoch}) as a 32-bit
   * integer ({@link sinceEpoch}): held in the object, where an epoch-ms value (a double) costs each
   * connection a boxed number (issue 11). It wraps after 24.8 days; differences of it do not, up to that.
   */
  private lastActivity = 0;
  /**
   * WheelEntry: when the door's timer wheel looks at this connection next (connect timeout while
   * awaiting CONNECT, keep alive once connected); NaN when not scheduled.
   */
  wheelAt = NaN;
  /** {@link CORKED} and {@link NO_PROBLEM_INFORMATION}: one small integer, not two fields (issue 11). */
  private bits = 0;
  /**
   * Why reading is paused: {@link PAUSED_HELD}, {@link PAUSED_OUTBOUND}, {@link PAUSED_COMMIT},
   * {@link PAUSED_AUTH}, {@link PAUSED_BUDGET}; 0 = reading.
   */
  private pausedFor = 0;
  /** The door's turn of the event loop that `readThisTurn` counts (read budget, docs/mqtt.md). */
  private turn = -1;
  /** Bytes of packets handled in that turn. */
  private readThisTurn = 0;
  /** Bytes handed to the socket so far (with writableLength: how much of it left). */
  private bytesWritten = 0;
  /** Where the connection came from (`info` without the certificate, which is in the extras). */
  readonly remoteAddress: string;
  /** `tcp`, `tls`, `ws` or `wss`. */
  readonly transport: string;

  constructor(
    readonly door: MqttDoor,
    readonly socket: Duplex,
    info: ConnectionInfo,
  ) {
    // Its fields, not the listener's object (48 bytes a connection, issue 11).
    this.remoteAddress = info.remoteAddress;
    this.transport = info.transport;
    if (info.certificate !== undefined) this.x.certificate = info.certificate;
    // Until CONNECT is accepted, only a small packet: a larger CONNECT is refused from its header.
    this.framer = new Framer(Math.min(door.options.maxConnectPacketSize, door.options.maxPacketSize));
    this.inflightLimit = door.options.maxInflight;
    const now = door.core.clock.now();
    this.lastActivity = sinceEpoch(now, door.epoch);
    // A socket that never sends CONNECT is closed [MQTT-3.1.4-1 / operational bound] (wheelDue).
    door.timers.schedule(this, now + door.options.connectTimeoutMs);
    // Listeners shared by every connection (no closures per connection): they find it on the socket.
    (socket as ConnectedSocket)[CONNECTION] = this;
    socket.on("data", onSocketData);
    socket.on("error", onSocketError);
    socket.on("close", onSocketEnd);
    // A WebSocket stream (ws's createWebSocketStream) only ends when the peer goes away; it emits no
    // 'close'. MQTT has no half-close, so the end of input is the loss of the connection [MQTT-3.1.2-8].
    // A TCP or TLS socket closes after its end (allowHalfOpen is off), so 'close' is enough there: a
    // second 'end' listener beside Node's own would cost each idle socket a listener array (issue 11).
    if (info.transport === "ws" || info.transport === "wss") socket.on("end", onSocketEnd);
    socket.on("drain", onSocketDrain);
  }

  /** The socket can take more: reading goes on and the session sends what waits. */
  private onDrain(): void {
    this.resumeReading(PAUSED_OUTBOUND);
    this.session?.drain();
  }

  /** Facts about where the connection came from. */
  get info(): ConnectionInfo {
    const certificate = this.extras?.certificate;
    return certificate === undefined
      ? { remoteAddress: this.remoteAddress, transport: this.transport }
      : { remoteAddress: this.remoteAddress, transport: this.transport, certificate };
  }

  /**
   * Who the CONNECT was authenticated as, and when its credentials expire (a JWT's `exp`), if they do:
   * only the expiry is kept, in the extras when there is one (issue 11; the principal is the session's).
   */
  set authenticated(auth: {
    readonly principal: string | undefined;
    readonly expiresAt?: number | undefined;
  }) {
    const expiresAt = auth.expiresAt;
    if (expiresAt !== undefined || this.extras !== undefined) this.x.credentialsExpireAt = expiresAt;
  }

  /** Client's Maximum Packet Size (bytes). */
  get clientMaxPacketSize(): number {
    return this.extras?.clientMaxPacketSize ?? MAX_PACKET_SIZE;
  }

  set clientMaxPacketSize(size: number) {
    if (size !== MAX_PACKET_SIZE || this.extras !== undefined) this.x.clientMaxPacketSize = size;
  }

  /** Client's Topic Alias Maximum (server -> client aliases). */
  get clientTopicAliasMax(): number {
    return this.extras?.clientTopicAliasMax ?? 0;
  }

  set clientTopicAliasMax(max: number) {
    if (max !== 0 || this.extras !== undefined) this.x.clientTopicAliasMax = max;
  }

  /** Send Reason Strings and User Properties on errors (Request Problem Information). */
  get problemInformation(): boolean {
    return (this.bits & NO_PROBLEM_INFORMATION) === 0;
  }

  set problemInformation(send: boolean) {
    this.bits = send ? this.bits & ~NO_PROBLEM_INFORMATION : this.bits | NO_PROBLEM_INFORMATION;
  }

  /** True while writes of this tick are corked (uncorked on the next tick). */
  private get corked(): boolean {
    return (this.bits & CORKED) !== 0;
  }

  private set corked(corked: boolean) {
    this.bits = corked ? this.bits | CORKED : this.bits & ~CORKED;
  }

  /** The rarely used state, made now if it was not. */
  private get x(): ConnectionExtras {
    return (this.extras ??= new ConnectionExtras());
  }

  /** Topic aliases the client set, alias -> topic (made on first use). */
  get aliasesIn(): Map<number, string> {
    return (this.x.aliasesIn ??= new Map());
  }

  /** Topic aliases the server set, topic -> alias (made on first use). */
  get aliasesOut(): Map<string, number> {
    return (this.x.aliasesOut ??= new Map());
  }

  /** The congested subscriber this publisher is held back for (docs/mqtt.md "Flow control"). */
  get heldBy(): MqttSession | undefined {
    return this.extras?.heldBy;
  }

  set heldBy(session: MqttSession | undefined) {
    if (session !== undefined || this.extras !== undefined) this.x.heldBy = session;
  }

  /** Acknowledgements waiting for the store to commit (made on the first one). */
  get commitAcks(): CommitAcks | undefined {
    return this.extras?.commitAcks;
  }

  set commitAcks(acks: CommitAcks | undefined) {
    if (acks !== undefined || this.extras !== undefined) this.x.commitAcks = acks;
  }

  /** This connection's logger, made on first use (idle connections never pay for it). */
  get log(): Logger {
    return (this.x.logger ??= this.door.log.child({
      remote: this.remoteAddress,
      transport: this.transport,
    }));
  }

  /**
   * Logs `msg` at `level` through {@link log} when that level is on, without making the connection's
   * child logger when it is not: with redaction configured, a child costs about 25 µs, which every
   * CONNECT/close paid for its "connection closed" line even at the default level (warn).
   */
  logAt(level: "info" | "debug", fields: Record<string, unknown>, msg: string): void {
    if (logsAt(this.door.log, level)) this.log[level](fields, msg);
  }

  /** True when the outbound buffer has room (QoS 0 is dropped and QoS 1/2 queued otherwise). */
  get writable(): boolean {
    return (
      this.state === "connected" && this.socket.writableLength < this.door.options.maxOutboundBufferBytes
    );
  }

  /** SessionLink: true below the outbound high-water mark (retained replay writes only then). */
  get replayable(): boolean {
    return (
      this.state === "connected" && this.socket.writableLength < this.door.options.outboundHighWaterBytes
    );
  }

  /** Stops reading: this publisher waits for `session` to catch up (resumed by the door). */
  hold(session: MqttSession): void {
    this.heldBy = session;
    this.pauseReading(PAUSED_HELD);
  }

  /** The door lets a held publisher go on. */
  unhold(): void {
    this.resumeReading(PAUSED_HELD);
  }

  /** Stops reading: too many acknowledgements wait for a commit (`mqtt.maxAcksAwaitingCommit`). */
  awaitCommits(): void {
    this.pauseReading(PAUSED_COMMIT);
  }

  /** The commits caught up: reading goes on (unless paused for another reason). */
  commitsCaughtUp(): void {
    this.resumeReading(PAUSED_COMMIT);
  }

  /** WheelEntry: the connect timeout or the keep alive fell due. */
  wheelDue(now: number): void {
    if (this.state === "awaiting-connect") {
      this.close({ protocolError: "connect_timeout", publishWill: false });
    } else if (this.state === "connected") {
      this.checkKeepAlive(now);
    }
  }

  private onData(chunk: Buffer): void {
    if (this.state === "closed") return;
    this.lastActivity = sinceEpoch(this.door.core.clock.now(), this.door.epoch);
    this.door.counters.bytesReceived.value += chunk.length;
    if (this.turn !== this.door.turn) this.countFromThisTurn();
    // The first packet must be CONNECT [MQTT-3.1.0-1]: judged by its first byte, so that a stream that
    // is not MQTT (an HTTP request announces a length it never sends) is closed at once, not at timeout.
    const startsPacket = this.framer.atPacketStart && chunk.length > 0;
    if (this.state === "awaiting-connect" && startsPacket && (chunk[0] as number) >> 4 !== 1) {
      this.close({ protocolError: "first_packet_not_connect", publishWill: false });
      return;
    }
    this.framer.push(chunk, this);
    if (this.state === "awaiting-connect") this.accountPending();
  }

  /** A new turn of the event loop: this connection's read budget starts again (per chunk, never per packet). */
  private countFromThisTurn(): void {
    this.turn = this.door.turn;
    this.readThisTurn = 0;
    this.door.turnCounted();
  }

  /** The door's next turn began: a connection paused for its read budget reads on. */
  budgetRenewed(): void {
    this.resumeReading(PAUSED_BUDGET);
  }

  /** Keeps the bytes a socket awaiting CONNECT has buffered within the door's bound (issue 12, 9). */
  private accountPending(): void {
    const buffered = this.framer.bufferedBytes;
    const pending = this.extras?.pendingBytes ?? 0;
    if (buffered === pending) return;
    if (!this.door.pendingConnect.resize(pending, buffered)) {
      const max = this.door.pendingConnect.max;
      this.log.warn({ buffered, max }, "sockets awaiting CONNECT hold too many bytes: closing this one");
      this.door.core.metrics.inc("mqtt_connections_refused_total", { reason: "pending_connect_bytes" });
      this.close({ publishWill: false, cause: "pending_connect_bytes" });
      return;
    }
    this.x.pendingBytes = buffered;
  }

  /** The connection no longer awaits CONNECT: its buffered bytes leave the pending total. */
  private releasePending(): void {
    const extras = this.extras;
    if (extras === undefined || extras.pendingBytes === 0) return;
    this.door.pendingConnect.resize(extras.pendingBytes, 0);
    extras.pendingBytes = 0;
  }

  /** FrameSink: one whole packet. */
  frame(bytes: Buffer): boolean {
    if (this.state === "closed") return false;
    // Reading was paused while this chunk was being handled: the framer keeps this packet and the rest
    // of the chunk, unframed (one view, no object per packet), for the resume.
    if (this.pausedFor !== 0) return false;
    const first = bytes[0] as number;
    const type = first >> 4;
    // The first packet must be CONNECT [MQTT-3.1.0-1].
    if (this.state === "awaiting-connect" && type !== 1) {
      this.close({ protocolError: "first_packet_not_connect", publishWill: false });
      return false;
    }
    const parsed = this.door.parser.parse(bytes, this.parserVersion);
    if ("error" in parsed) {
      // A repeated property is a Protocol Error (§2.2.2.2); every other parse failure is malformed.
      const reason =
        parsed.error instanceof ProtocolViolation ? Reason.PROTOCOL_ERROR : Reason.MALFORMED_PACKET;
      this.malformed(parsed.error.message, bytes, reason);
      return false;
    }
    this.door.counters.packetsReceived.value++;
    // Packet identifiers are non-zero: PUBLISH (QoS > 0), SUBSCRIBE, UNSUBSCRIBE and the acknowledgements
    // [MQTT-2.3.1-1] (5.0: [MQTT-2.2.1-3]). Read by both parsers; undefined where a packet has none.
    if ((parsed.packet as { messageId?: number }).messageId === 0) {
      this.protocolError(`${parsed.packet.cmd} with packet identifier 0`);
      return false;
    }
    const door = this.door;
    const outer = door.reading;
    door.reading = this;
    try {
      this.dispatch(parsed.packet);
    } catch (err) {
      // A handler bug costs this connection, never the process (STYLE §6); counted, so tests see it.
      this.log.error({ err: (err as Error).message, cmd: parsed.packet.cmd }, "packet handler failed");
      this.door.core.metrics.inc("mqtt_internal_errors_total", { cmd: parsed.packet.cmd });
      this.close({ reason: Reason.IMPLEMENTATION_SPECIFIC_ERROR, message: "internal error" });
    }
    door.reading = outer;
    // Replies (PINGRESP, PUBACK, SUBACK, ...) count against the outbound bound like PUBLISHes do: a
    // client that does not read what it is sent is not read either (issue 12).
    const socket = this.socket;
    if (socket.writableLength > door.options.outboundHighWaterBytes && socket.writableNeedDrain)
      this.pauseReading(PAUSED_OUTBOUND);
    // One connection handles at most its read budget per turn of the event loop (plus the packet that
    // crosses it): the rest of the chunk waits, in order, for the next turn (door.nextTurn), so that a
    // flooding client cannot hold up the loop and every other client (issue 11).
    if ((this.readThisTurn += bytes.length) > door.options.readBudgetBytesPerTurn && !this.closed) {
      this.pauseReading(PAUSED_BUDGET);
      door.overBudget(this);
    }
    return !this.closed;
  }

  /** CONNECT accepted: no connect timeout, and the client may now send packets up to maxPacketSize. */
  connectAccepted(): void {
    this.door.timers.cancel(this);
    this.releasePending();
    this.framer.maxPacketSize = this.door.options.maxPacketSize;
  }

  /** Stops handling input while the CONNECT authenticates (packets already read wait, in order). */
  pauseForAuthentication(): void {
    this.pauseReading(PAUSED_AUTH);
  }

  /** Authentication is over: the packets that waited are handled and reading goes on. */
  resumeAfterAuthentication(): void {
    this.resumeReading(PAUSED_AUTH);
  }

  /**
   * Closes the connection when the credentials it was let in with expire (a JWT's `exp`): v5 clients
   * get DISCONNECT 0xA0 Maximum connect time, "the maximum connection time authorized for this
   * connection has been exceeded" (MQTT 5 §3.14.2.1); 3.1.1 has no server DISCONNECT, the network
   * connection is closed. The will is published, as for any close without a client DISCONNECT
   * [MQTT-3.1.2-8].
   */
  expireWithCredentials(): void {
    const expiresAt = this.extras?.credentialsExpireAt;
    if (expiresAt === undefined) return;
    this.x.disarmExpiry = armExpiry(this.door.core.clock, expiresAt, () => {
      this.x.disarmExpiry = undefined;
      this.door.core.metrics.inc("mqtt_credentials_expired_total");
      this.logAt("info", { clientId: this.clientId }, "credentials expired: disconnected");
      this.close({ reason: Reason.MAXIMUM_CONNECT_TIME, message: "credentials expired" });
    });
  }

  /** A handler failed outside packet handling (an async step): costs this connection only (STYLE §6). */
  failed(err: unknown, cmd: string): void {
    this.log.error({ err: (err as Error).message, cmd }, "packet handler failed");
    this.door.core.metrics.inc("mqtt_internal_errors_total", { cmd });
    this.close({
      reason: Reason.IMPLEMENTATION_SPECIFIC_ERROR,
      message: "internal error",
      publishWill: false,
    });
  }

  /** Stops reading the socket for `reason` (a PAUSED_ flag); TCP then slows the client. */
  private pauseReading(reason: number): void {
    if (this.state === "closed" || (this.pausedFor & reason) !== 0) return;
    if (this.pausedFor === 0) this.socket.pause();
    this.pausedFor |= reason;
    if (reason === PAUSED_OUTBOUND) this.watchStall(this.flushed);
  }

  /** Lifts one reason to pause; when none is left, handles the packets kept meanwhile and reads on. */
  private resumeReading(reason: number): void {
    if ((this.pausedFor & reason) === 0) return;
    this.pausedFor &= ~reason;
    const stallTimer = this.extras?.stallTimer;
    if (reason === PAUSED_OUTBOUND && stallTimer) {
      this.door.core.clock.clearTimeout(stallTimer);
      this.x.stallTimer = undefined;
    }
    if (this.pausedFor !== 0 || this.state === "closed") return;
    if (this.turn !== this.door.turn) this.countFromThisTurn();
    // The packets kept meanwhile first, in order; handling them may pause reading again (the framer
    // then keeps the rest again, as a view: a chunk spread over many turns is not copied).
    this.framer.resume(this);
    if (this.pausedFor === 0 && !this.closed) this.socket.resume();
  }

  /** Bytes that have left the outbound buffer. */
  private get flushed(): number {
    return this.bytesWritten - this.socket.writableLength;
  }

  /**
   * A client whose reading is paused for its unsent bytes, and which takes none of them for
   * `outboundStallMs`, is disconnected: v5 DISCONNECT 0x97 Quota exceeded ("an implementation or
   * administrative imposed limit has been exceeded", MQTT 5 §3.14.2.1; the reason of the ErrorCode
   * SLOW_CONSUMER in docs/errors.md), counted and logged.
   */
  private watchStall(flushedBefore: number): void {
    const timer = (this.x.stallTimer = this.door.core.clock.setTimeout(() => {
      this.x.stallTimer = undefined;
      if ((this.pausedFor & PAUSED_OUTBOUND) === 0 || this.state === "closed") return;
      const flushed = this.flushed;
      if (flushed !== flushedBefore) return this.watchStall(flushed);
      this.door.core.metrics.inc("mqtt_outbound_stalled_total");
      this.log.warn(
        { clientId: this.clientId, unsent: this.socket.writableLength },
        "client reads nothing of what it is sent: disconnected",
      );
      this.close({ reason: Reason.QUOTA_EXCEEDED, message: "outbound buffer not read" });
    }, this.door.options.outboundStallMs));
    timer.unref?.();
  }

  /** True once the connection has been closed. */
  get closed(): boolean {
    return this.state === "closed";
  }

  /** FrameSink: framing failed. */
  error(err: FrameError): void {
    if (err.kind === "oversize" && this.state === "awaiting-connect") {
      // A CONNECT above mqtt.maxConnectPacketSize, refused from its header before it is buffered; a v5
      // client whose protocol level has arrived is told 0x95 Packet too large [MQTT-4.13.1-1].
      this.log.warn({ size: err.size, max: this.framer.maxPacketSize }, "CONNECT too large");
      if (connectVersion(err.bytes) === 5) {
        const connack = {
          cmd: "connack",
          sessionPresent: false,
          reasonCode: Reason.PACKET_TOO_LARGE,
        } as const;
        this.writeNow(mqtt.generate(connack, { protocolVersion: 5 }));
      }
      this.close({ protocolError: "connect_too_large", publishWill: false });
    } else if (err.kind === "oversize") {
      this.log.warn({ size: err.size, max: this.framer.maxPacketSize }, "packet too large");
      this.close({ reason: Reason.PACKET_TOO_LARGE, protocolError: "packet_too_large" });
    } else {
      this.malformed(err.message);
    }
  }

  /** One handler per packet type. */
  dispatch(packet: Packet): void {
    switch (packet.cmd) {
      case "connect":
        // A second CONNECT is a protocol error [MQTT-3.1.0-2].
        if (this.state !== "awaiting-connect") return this.protocolError("second CONNECT");
        // The connect timeout runs on while the CONNECT authenticates (connectAccepted clears it).
        return handleConnect(this, packet);
      case "publish":
        return handlePublish(this, packet);
      case "puback":
        return handlePuback(this, packet);
      case "pubrec":
        return handlePubrec(this, packet);
      case "pubrel":
        return handlePubrel(this, packet);
      case "pubcomp":
        return handlePubcomp(this, packet);
      case "subscribe":
        return handleSubscribe(this, packet);
      case "unsubscribe":
        return handleUnsubscribe(this, packet);
      case "pingreq":
        this.write(PINGRESP);
        return;
      case "disconnect":
        return handleDisconnect(this, packet);
      case "auth":
        // Enhanced authentication is not offered; AUTH without it is a protocol error [MQTT-3.15.0-?].
        return this.protocolError("AUTH without an authentication method");
      case "connack":
      case "suback":
      case "unsuback":
      case "pingresp":
        // Server-to-client packets sent by a client [MQTT-2.1.2-?].
        return this.protocolError(`${packet.cmd} from a client`);
    }
  }

  /**
   * Closes with 0x81 Malformed Packet (v5) or just closes (3.1.1). `reason` is 0x82 for the parse
   * failures the spec calls Protocol Errors.
   */
  malformed(message: string, bytes?: Buffer, reason: number = Reason.MALFORMED_PACKET): void {
    const label = reason === Reason.MALFORMED_PACKET ? "malformed" : reasonName(reason).toLowerCase();
    this.log.warn({ problem: message, reason: reasonName(reason) }, "unparsable packet");
    if (this.state === "awaiting-connect") {
      // A bad CONNECT from a v5 client gets CONNACK 0x81/0x82 [MQTT-4.13.1-1]; 3.1.1 has no such code.
      // Without the bytes, the CONNECT handler found the problem and set the version.
      if ((bytes ? connectVersion(bytes) : this.protocolVersion) === 5) {
        this.writeNow(
          mqtt.generate(
            { cmd: "connack", sessionPresent: false, reasonCode: reason },
            { protocolVersion: 5 },
          ),
        );
      } else if (message === "Invalid protocol version") {
        // [MQTT-3.1.2-2]: unacceptable protocol level gets return code 0x01, then the connection closes.
        this.writeNow(Buffer.from([0x20, 0x02, 0x00, 0x01]));
      }
      return this.close({ protocolError: label, publishWill: false });
    }
    this.close({ reason, message, protocolError: label });
  }

  /** Closes with 0x82 Protocol Error (v5) or just closes (3.1.1). */
  /**
   * The connection's publish rate (`limits.publishesPerSecondPerSession`, issue 14 §4): true when this
   * PUBLISH is over it, and then the connection is closed: v5 gets DISCONNECT 0x96 Message rate too
   * high (MQTT 5 §3.14.2.1), 3.1.1 has no reason codes and is just closed. One clock read per PUBLISH,
   * only when a limit is configured.
   */
  publishRateExceeded(): boolean {
    const x = this.x;
    if (x.publishBucket === null) x.publishBucket = this.door.core.publishBucket();
    if (x.publishBucket === undefined || x.publishBucket.take(this.door.core.clock.now())) return false;
    this.protocolError(
      "publish rate above limits.publishesPerSecondPerSession",
      Reason.MESSAGE_RATE_TOO_HIGH,
    );
    return true;
  }

  protocolError(message: string, reason: number = Reason.PROTOCOL_ERROR): void {
    this.log.warn({ problem: message, reason: reasonName(reason) }, "protocol error");
    this.close({ reason, message, protocolError: reasonName(reason).toLowerCase() });
  }

  /**
   * Runs `publish` (a PUBLISH of this client going to its subscribers) and then `ack`, so that the
   * PUBACK or PUBREC goes out before any copy delivered back to this same client: a client then knows
   * its message acknowledged by the time it sees it. Either order is allowed by the spec; this one is
   * what clients that check their outstanding messages on receipt expect.
   */
  ackBeforeOwnDeliveries<T>(publish: () => T, ack: (result: T) => void): void {
    const held: Buffer[] = [];
    const x = this.x;
    x.held = held;
    let result: T;
    try {
      result = publish();
    } catch (err) {
      x.held = undefined;
      for (const bytes of held) this.write(bytes);
      throw err;
    }
    x.held = undefined;
    ack(result);
    for (const bytes of held) this.write(bytes);
  }

  /** Queues bytes for the socket; writes in one tick go out together (cork/uncork). */
  write(bytes: Buffer): void {
    if (this.state === "closed") return;
    const held = this.extras?.held;
    if (held !== undefined) {
      held.push(bytes);
      return;
    }
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    this.socket.write(bytes);
    this.bytesWritten += bytes.length;
    this.door.counters.bytesSent.value += bytes.length;
  }

  /** Writes immediately (used just before closing). */
  writeNow(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
    this.bytesWritten += bytes.length;
  }

  /** SessionLink: writes a PUBLISH. */
  sendPublish(message: Outgoing, packetId: number, dup: boolean): boolean {
    const now = this.door.core.clock.now();
    let alias: { alias: number; known: boolean } | undefined;
    if (this.clientTopicAliasMax > 0 && this.protocolVersion === 5)
      alias = this.outboundAlias(message.update.topic);
    const bytes = encodePublish(message, packetId, dup, {
      protocolVersion: this.protocolVersion,
      alias,
      now,
    });
    if (bytes.length > this.clientMaxPacketSize) {
      // Larger than the client accepts: discard [MQTT-3.1.2-25].
      this.door.core.metrics.inc("mqtt_messages_dropped_total", { reason: "client_max_packet_size" });
      if (alias && !alias.known) this.aliasesOut.delete(message.update.topic);
      return false;
    }
    this.write(bytes);
    this.door.counters.messagesSent[message.qos]!.value++;
    return true;
  }

  /** SessionLink: writes a PUBREL. */
  sendPubrel(packetId: number): void {
    this.write(
      mqtt.generate({ cmd: "pubrel", messageId: packetId }, { protocolVersion: this.protocolVersion }),
    );
  }

  /**
   * Starts keep-alive enforcement: 1.5 times the keep alive without a packet closes [MQTT-3.1.2-22]
   * (3.1.1: [MQTT-3.1.2-24]). One entry in the door's timer wheel, looked at when it falls due.
   */
  startKeepAlive(): void {
    if (this.keepAliveSec === 0) return;
    this.door.timers.schedule(this, this.door.core.clock.now() + this.keepAliveSec * 1500);
  }

  /** The keep alive fell due: closes a client silent for 1.5 times it, else looks again later. */
  private checkKeepAlive(now: number): void {
    const limit = this.keepAliveSec * 1500;
    // While the server does not read the client (flow control), its silence is not the client's.
    const at = sinceEpoch(now, this.door.epoch);
    if (this.pausedFor !== 0) this.lastActivity = at;
    // In 32-bit arithmetic, as the times are kept (right across a wrap; idle is far below 2^31 ms).
    const idle = (at - this.lastActivity) | 0;
    if (idle >= limit) {
      this.logAt("info", { keepAliveSec: this.keepAliveSec }, "keep alive timeout");
      this.close({ reason: Reason.KEEP_ALIVE_TIMEOUT, protocolError: "keep_alive_timeout" });
      return;
    }
    this.door.timers.schedule(this, now - idle + limit);
  }

  /**
   * Ends the connection: a v5 DISCONNECT with the reason first when there is one, the session detached
   * (its will published when `publishWill`), the socket ended.
   */
  close(options: CloseOptions = {}): void {
    if (this.state === "closed") return;
    const wasConnected = this.state === "connected";
    this.state = "closed";
    this.releasePending();
    const metrics = this.door.core.metrics;
    if (options.protocolError) metrics.inc("mqtt_protocol_errors_total", { reason: options.protocolError });
    const why =
      options.protocolError ??
      (options.reason !== undefined ? reasonName(options.reason).toLowerCase() : (options.cause ?? "closed"));
    metrics.disconnected("mqtt", why);
    this.logAt("info", { clientId: this.clientId, reason: why }, "connection closed");
    if (wasConnected && this.protocolVersion === 5 && options.reason !== undefined) {
      const properties =
        options.message && this.problemInformation ? { reasonString: options.message } : undefined;
      this.writeNow(
        mqtt.generate({ cmd: "disconnect", reasonCode: options.reason, properties }, { protocolVersion: 5 }),
      );
    }
    this.stopTimers();
    // Contained: the socket below is ended whatever detaching the session (and its will) does.
    this.door.core.containment.run("socket_close", () =>
      this.door.connectionClosed(this, options.publishWill ?? true),
    );
    const socket = this.socket;
    // Closed by the peer or by the network (this runs on the socket's 'close'): nothing to end. Ending
    // a destroyed socket makes Node build an ERR_STREAM_DESTROYED error with its stack, on every
    // dropped connection (3.7% of the server's CPU for connect-and-close in the connect-cpu bench).
    if (socket.destroyed) return;
    if (this.corked) {
      this.corked = false;
      socket.uncork();
    }
    socket.end();
    // Give the goodbye a moment to flush, then make sure the socket is gone.
    const t = this.door.core.clock.setTimeout(() => socket.destroy(), 1000);
    t.unref?.();
  }

  private onSocketClose(): void {
    if (this.state !== "closed") {
      this.close({ publishWill: true, cause: "connection_lost" });
    }
    this.stopTimers();
  }

  private stopTimers(): void {
    this.door.timers.cancel(this);
    const extras = this.extras;
    if (extras === undefined) return;
    if (extras.stallTimer) this.door.core.clock.clearTimeout(extras.stallTimer);
    extras.disarmExpiry?.();
    extras.stallTimer = extras.disarmExpiry = undefined;
  }

  private outboundAlias(topic: string): { alias: number; known: boolean } | undefined {
    const existing = this.aliasesOut.get(topic);
    if (existing !== undefined) return { alias: existing, known: true };
    if (this.aliasesOut.size >= this.clientTopicAliasMax) return undefined;
    const alias = this.aliasesOut.size + 1;
    this.aliasesOut.set(topic, alias);
    return { alias, known: false };
  }
}

/**
 * What an idle connection never uses, apart from {@link MqttConnection} and made on its first use:
 * each field of the connection itself is 8 bytes on every connection (issue 11, docs/performance.md
 * "Scale: connections").
 */
class ConnectionExtras {
  /** The publish rate limiter: null until the first PUBLISH, undefined when there is no limit. */
  publishBucket: TokenBucket | undefined | null = null;
  logger: Logger | undefined = undefined;
  aliasesIn: Map<number, string> | undefined = undefined;
  aliasesOut: Map<string, number> | undefined = undefined;
  /** Bytes this connection accounts for in the door's pending-CONNECT total (until CONNECT is accepted). */
  pendingBytes = 0;
  /** Writes held back while this client's own PUBLISH is delivered (see ackBeforeOwnDeliveries). */
  held: Buffer[] | undefined = undefined;
  heldBy: MqttSession | undefined = undefined;
  commitAcks: CommitAcks | undefined = undefined;
  stallTimer: Timer | undefined = undefined;
  clientMaxPacketSize = MAX_PACKET_SIZE;
  clientTopicAliasMax = 0;
  /** The client certificate the listener verified, if any. */
  certificate: Credentials["certificate"] = undefined;
  /** When the credentials the CONNECT was let in with expire (epoch ms), if they do. */
  credentialsExpireAt: number | undefined = undefined;
  /** Disarms the close at credential expiry. */
  disarmExpiry: (() => void) | undefined = undefined;
}

const PINGRESP = Buffer.from([0xd0, 0x00]);
/** The largest packet MQTT can express (the client's Maximum Packet Size when it gives none). */
const MAX_PACKET_SIZE = 268_435_455;
/** {@link MqttConnection} bits: writes of this tick are corked. */
const CORKED = 1;
/** {@link MqttConnection} bits: the client asked for no Reason Strings or User Properties on errors. */
const NO_PROBLEM_INFORMATION = 2;
/** Reading paused: a congested subscriber holds this publisher back. */
const PAUSED_HELD = 1;
/** Reading paused: the client's unsent bytes passed `outboundHighWaterBytes`. */
const PAUSED_OUTBOUND = 2;
/** Reading paused: `maxAcksAwaitingCommit` acknowledgements wait for the store. */
const PAUSED_COMMIT = 4;
/** Reading paused: the CONNECT is being authenticated. */
const PAUSED_AUTH = 8;
/** Reading paused: the connection used its `readBudgetBytesPerTurn` in this turn of the event loop. */
const PAUSED_BUDGET = 16;

/** Where a socket keeps its connection, for the listeners every connection shares. */
const CONNECTION = Symbol("mqttConnection");
type ConnectedSocket = Duplex & { [CONNECTION]: MqttConnection };

function onSocketData(this: Duplex, chunk: Buffer): void {
  (this as ConnectedSocket)[CONNECTION]["onData"](chunk);
}

function onSocketError(this: Duplex, err: Error): void {
  (this as ConnectedSocket)[CONNECTION].log.debug({ err: err.message }, "socket error");
}

function onSocketEnd(this: Duplex): void {
  (this as ConnectedSocket)[CONNECTION]["onSocketClose"]();
}

function onSocketDrain(this: Duplex): void {
  (this as ConnectedSocket)[CONNECTION]["onDrain"]();
}

function uncork(conn: MqttConnection): void {
  const c = conn as unknown as { corked: boolean };
  if (!c.corked) return;
  c.corked = false;
  conn.socket.uncork();
}

/**
 * `now` (epoch ms) as ms since `epoch`, wrapped to a 32-bit integer: a value V8 keeps in the object as a
 * small integer (a plain difference of two doubles is stored as a boxed number, 16 bytes more).
 */
function sinceEpoch(now: number, epoch: number): number {
  return (now - epoch) | 0;
}

/** The protocol level byte of a raw CONNECT packet, if it can be read. */
function connectVersion(bytes: Buffer): number | undefined {
  let i = 1;
  while (i < 5 && ((bytes[i] as number) & 0x80) !== 0) i++;
  const nameLength = bytes.length > i + 2 ? bytes.readUInt16BE(i + 1) : -1;
  if (nameLength < 0) return undefined;
  return bytes[i + 3 + nameLength];
}
