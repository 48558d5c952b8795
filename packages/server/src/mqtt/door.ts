/**
 * The MQTT door: accepts byte streams (TCP, TLS, WebSocket), keeps MQTT sessions by client identifier,
 * and turns publishes into core updates. Everything MQTT-specific lives behind this door.
 */
import type { Duplex } from "node:stream";
import type { Core } from "../core/core.js";
import type { Counter } from "../core/metrics.js";
import type { Logger, Timer } from "../core/ports.js";
import type { Update } from "../core/types.js";
import { MqttConnection, type ConnectionInfo } from "./connection.js";
import { DynamicSecurityApi } from "./dynsec/handler.js";
import { PacketParser } from "./parser.js";
import type { MqttOptions } from "./options.js";
import { Reason } from "./reason-codes.js";
import { PendingConnectBytes } from "./pre-connect.js";
import { MqttSession, type SessionHooks, type SessionSubscription, inferSpec } from "./session.js";
import type { PublishContext, PublishResult } from "../core/core.js";
import type { Actor } from "../core/security/types.js";
import { newSessionId } from "../core/sessions.js";
import { TimerWheel } from "../core/timer-wheel.js";
import type { SubscriptionOptions } from "../core/types.js";

/** Publishers held back for one congested subscriber (docs/mqtt.md "Flow control"). */
interface Hold {
  readonly conns: MqttConnection[];
  /** The subscriber's completed exchanges when the timer was last armed. */
  completions: number;
  timer: Timer;
}

/** The MQTT door of a server. */
export class MqttDoor {
  /** Sessions by client identifier (connected or not). */
  readonly sessions = new Map<string, MqttSession>();
  /** Live connections. */
  readonly connections = new Set<MqttConnection>();
  readonly log: Logger;
  /** The packet parser all connections share (parsing is synchronous, one whole frame at a time). */
  readonly parser = new PacketParser();
  private readonly publishContext: PublishContext;
  /** Bytes buffered by connections awaiting their CONNECT, bounded by `maxPendingConnectBytes`. */
  readonly pendingConnect: PendingConnectBytes;
  /** Bytes of QoS 1/2 messages queued across all sessions (bounded by `maxQueuedBytesTotal`). */
  readonly queuedBytesTotal = { value: 0 };
  /** The connection whose packet is being handled now: the publisher a congested subscriber slows. */
  reading: MqttConnection | undefined;
  /** Sessions without a connection, the longest offline first (bounded by `maxOfflineSessions`). */
  readonly offline = new Set<MqttSession>();
  /** Congested subscribers and the publishers they hold back. */
  private readonly holds = new Map<MqttSession, Hold>();
  /** Held publishers to resume on the next turn (after the I/O that relieved them). */
  private toResume: MqttConnection[] = [];
  /**
   * The turn of the event loop connections count their read budget in (`readBudgetBytesPerTurn`):
   * bumped by one `setImmediate`, armed by the first connection that reads in a turn.
   */
  turn = 0;
  private turnArmed = false;
  /** Connections paused for their read budget in this turn, read again on the next. */
  private overBudgetConns: MqttConnection[] = [];
  /** Mosquitto's dynamic-security API on `$CONTROL/dynamic-security/v1` (dynsec/handler.ts). */
  readonly dynamicSecurity: DynamicSecurityApi;
  /**
   * Connect timeouts and keep-alives of every connection, on one clock timer (issue 11): a connection
   * is one entry in a slot, not a runtime timer of its own.
   */
  readonly timers: TimerWheel<MqttConnection>;
  /**
   * The clock's time (epoch ms) when the door was made: connections keep the time of their last
   * packet relative to it, a small integer rather than a boxed double each (issue 11).
   */
  readonly epoch: number;
  /** The session hooks every session shares (methods of the door, not closures per session). */
  private readonly sessionHooks: SessionHooks;
  /** Hot-path counters. */
  readonly counters: Readonly<Record<"packetsReceived" | "bytesReceived" | "bytesSent", Counter>> & {
    /** PUBLISHes received and sent, indexed by QoS. */
    readonly messagesReceived: readonly Counter[];
    readonly messagesSent: readonly Counter[];
  };
  /** `mqtt_connections_total` by transport (one lookup per connection, no series key built). */
  private readonly connectionsByTransport = new Map<string, Counter>();

  constructor(
    readonly core: Core,
    readonly options: MqttOptions,
    logger: Logger,
    /** The `$ServerName` session property. */
    readonly serverName = "skein",
    /** Timeout of requests MQTT clients send (ms). */
    readonly requestTimeoutMs = 30_000,
  ) {
    this.log = logger.child({ door: "mqtt" });
    this.dynamicSecurity = new DynamicSecurityApi(core, this.log);
    this.publishContext = {
      createSpec: options.allowTopicCreation ? (u: Update) => inferSpec(u, options) : undefined,
    };
    this.timers = new TimerWheel(core.clock);
    this.epoch = core.clock.now();
    const m = core.metrics;
    this.pendingConnect = new PendingConnectBytes(options.maxPendingConnectBytes, m);
    this.counters = {
      packetsReceived: m.counter("mqtt_packets_received_total"),
      bytesReceived: m.counter("mqtt_bytes_received_total"),
      bytesSent: m.counter("mqtt_bytes_sent_total"),
      messagesReceived: [0, 1, 2].map((qos) => m.counter("mqtt_messages_received_total", { qos: `${qos}` })),
      messagesSent: [0, 1, 2].map((qos) => m.counter("mqtt_messages_sent_total", { qos: `${qos}` })),
    };
    this.sessionHooks = {
      publish: (update, actor) => {
        // A will is checked again when it is sent: the permission may have gone since CONNECT.
        const result = this.publish(actor, update);
        if (!result.ok && result.code === "NOT_AUTHORIZED") {
          this.core.metrics.inc("mqtt_wills_refused_total");
          this.log.info({ topic: update.topic }, "will refused: not authorized");
        }
      },
      ended: (s) => {
        if (this.sessions.get(s.clientId) === s) this.sessions.delete(s.clientId);
        this.offline.delete(s);
        this.core.metrics.set("mqtt_sessions", this.sessions.size);
      },
      congested: (s) => this.congested(s),
      relieved: (s) => this.relieved(s),
      queuedBytesTotal: this.queuedBytesTotal,
      core,
      options,
    };
  }

  /** Takes a new byte stream from a listener. */
  accept(socket: Duplex, info: ConnectionInfo): MqttConnection {
    const conn = new MqttConnection(this, socket, info);
    this.connections.add(conn);
    this.core.metrics.set("mqtt_connections", this.connections.size);
    let total = this.connectionsByTransport.get(info.transport);
    if (total === undefined) {
      total = this.core.metrics.counter("mqtt_connections_total", { transport: info.transport });
      this.connectionsByTransport.set(info.transport, total);
    }
    total.value++;
    return conn;
  }

  /**
   * Publishes an update from an MQTT client (or its will) as `actor`, creating its topic when allowed
   * (by config and by the actor's `modify_topic`).
   */
  publish(actor: Actor, update: Update): PublishResult {
    return this.core.facade.publish(actor, update, this.publishContext);
  }

  /** A new session for a client id, registered with the door and the core. */
  newSession(sessionId: string, clientId: string): MqttSession {
    const session = new MqttSession(sessionId, clientId, this.sessionHooks);
    this.sessions.set(clientId, session);
    this.core.metrics.set("mqtt_sessions", this.sessions.size);
    return session;
  }

  /**
   * Flow control (docs/mqtt.md): a QoS 1/2 delivery to `session` was queued past its high-water mark,
   * so the publisher whose packet is being handled stops being read until the subscriber catches up.
   * Its PUBLISH was accepted (queued within the bounds) and is acknowledged; TCP carries the back
   * pressure to it from there. A client is never held by its own session (it could not read its own
   * acknowledgements then).
   */
  private congested(session: MqttSession): void {
    const conn = this.reading;
    if (!conn || conn.session === session || conn.closed || conn.heldBy !== undefined) return;
    let hold = this.holds.get(session);
    if (!hold) {
      hold = { conns: [], completions: session.completions, timer: this.holdTimer(session) };
      this.holds.set(session, hold);
    }
    hold.conns.push(conn);
    conn.hold(session);
  }

  /**
   * The hold on a subscriber's publishers lasts while it makes progress; a subscriber that completes no
   * exchange for `maxPublisherHoldMs` is a slow consumer: it holds nobody from then on (until its queue
   * empties) and its queue's drop policy applies.
   */
  private holdTimer(session: MqttSession): Timer {
    const timer = this.core.clock.setTimeout(() => {
      const hold = this.holds.get(session);
      if (!hold) return;
      if (session.completions !== hold.completions) {
        hold.completions = session.completions;
        hold.timer = this.holdTimer(session);
        return;
      }
      session.slow = true;
      session.congested = false;
      this.core.metrics.inc("mqtt_slow_consumers_total");
      this.log.warn(
        { clientId: session.clientId, queued: session.queue.length, held: hold.conns.length },
        "slow consumer: publishers no longer held for it",
      );
      this.relieved(session);
    }, this.options.maxPublisherHoldMs);
    timer.unref?.();
    return timer;
  }

  /** The subscriber caught up (or left): its publishers are read again on the next turn. */
  private relieved(session: MqttSession): void {
    const hold = this.holds.get(session);
    if (!hold) return;
    this.holds.delete(session);
    this.core.clock.clearTimeout(hold.timer);
    for (const conn of hold.conns) conn.heldBy = undefined;
    if (this.toResume.length === 0) setImmediate(resumeHeld, this);
    for (const conn of hold.conns) this.toResume.push(conn);
  }

  /** Resumes the publishers relieved since the last turn. */
  resumeHeld(): void {
    const conns = this.toResume;
    this.toResume = [];
    for (const conn of conns) if (conn.heldBy === undefined) conn.unhold();
  }

  /** A connection counts its reads in this turn: the next turn is counted from the check phase on. */
  turnCounted(): void {
    if (this.turnArmed) return;
    this.turnArmed = true;
    setImmediate(nextTurn, this);
  }

  /** `conn` used its read budget for this turn: it is read again on the next one. */
  overBudget(conn: MqttConnection): void {
    this.overBudgetConns.push(conn);
    this.turnCounted();
  }

  /**
   * A new turn: every connection paused for its read budget reads on, in the order they were paused
   * (each handles its kept packets first, and may be paused again for the next turn).
   */
  nextTurn(): void {
    this.turnArmed = false;
    this.turn++;
    const conns = this.overBudgetConns;
    if (conns.length === 0) return;
    this.overBudgetConns = [];
    for (const conn of conns) conn.budgetRenewed();
  }

  /** Bookkeeping when a connection ends. */
  connectionClosed(conn: MqttConnection, publishWill: boolean): void {
    this.connections.delete(conn);
    this.core.metrics.set("mqtt_connections", this.connections.size);
    const session = conn.session;
    if (!session) return;
    this.core.facade.closeSession(session.sessionId);
    if (session.link !== conn) return;
    session.detach(publishWill);
    if (!session.ended) this.wentOffline(session);
  }

  /**
   * A session lives on without a connection. Past `maxOfflineSessions` the one offline longest is
   * ended (its will goes out as at expiry), logged and counted: a bound on what offline clients may
   * make the server hold, in memory and on disk (docs/mqtt.md "Persistent sessions").
   */
  private wentOffline(session: MqttSession): void {
    this.offline.add(session);
    if (this.offline.size <= this.options.maxOfflineSessions) return;
    const oldest = this.offline.values().next().value as MqttSession;
    this.core.metrics.inc("mqtt_sessions_evicted_total", { reason: "max_offline_sessions" });
    this.log.warn(
      { clientId: oldest.clientId, max: this.options.maxOfflineSessions },
      "too many offline sessions: the one offline longest is ended (mqtt.maxOfflineSessions)",
    );
    oldest.end();
  }

  /**
   * Start-up, before any listener opens: rebuilds the persistent sessions the core kept
   * (docs/durability.md). Every session is restored first and woken after, so that a will a woken
   * session publishes reaches the sessions kept with it. Resolves with how many were restored.
   */
  async restore(): Promise<number> {
    const store = this.core.sessionStore;
    const kept = await store.load();
    const restored: MqttSession[] = [];
    for (const k of kept) {
      const session = this.newSession(newSessionId(), k.record.clientId);
      session.restore(k, subscriptionOfKey);
      restored.push(session);
    }
    // Woken (and counted against maxOfflineSessions) in the order their expiry falls due: roughly the
    // order they went offline.
    const order = restored.map((_, i) => i);
    const due = (i: number): number => kept[i]!.record.expiresAt ?? Number.MAX_SAFE_INTEGER;
    order.sort((a, b) => due(a) - due(b));
    for (const i of order) {
      const session = restored[i] as MqttSession;
      session.wake(kept[i]!);
      if (!session.ended) this.wentOffline(session);
    }
    store.sweep();
    return restored.length;
  }

  /**
   * Shuts the door: wills of live connections are published (the server ends them, not the clients),
   * then v5 clients get DISCONNECT 0x8B Server shutting down and every connection closes.
   */
  shutdown(): void {
    // A kept session's will follows its delay across the restart (kept with its deadline); the others
    // go out now.
    for (const conn of [...this.connections])
      if (conn.session?.durable === undefined) conn.session?.publishWill();
    for (const conn of [...this.connections]) {
      conn.close({
        reason: Reason.SERVER_SHUTTING_DOWN,
        message: "server shutting down",
        publishWill: conn.session?.durable !== undefined,
      });
    }
    // Kept sessions stay on disk for the next start; the others end here.
    for (const session of [...this.sessions.values()]) {
      if (session.durable !== undefined) session.suspend();
      else session.end();
    }
    this.sessions.clear();
    this.offline.clear();
    this.timers.stop();
  }
}

/** Options of a restored subscription until its kept ones are set. */
const NO_OPTIONS: SubscriptionOptions = {
  qos: 0,
  noLocal: false,
  retainAsPublished: false,
  retainHandling: 0,
};

/** A kept subscription's filter as subscribed, split into its share group and filter [MQTT-4.8.2-1]. */
function subscriptionOfKey(key: string): SessionSubscription | undefined {
  if (!key.startsWith("$share/")) return { key, filter: key, shareGroup: undefined, options: NO_OPTIONS };
  const slash = key.indexOf("/", 7);
  if (slash < 0) return undefined;
  return { key, filter: key.slice(slash + 1), shareGroup: key.slice(7, slash), options: NO_OPTIONS };
}

function resumeHeld(door: MqttDoor): void {
  door.resumeHeld();
}

function nextTurn(door: MqttDoor): void {
  door.nextTurn();
}
