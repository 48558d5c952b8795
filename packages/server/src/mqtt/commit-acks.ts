/**
 * Acknowledgements that wait for the store (the durability contract, docs/durability.md): a PUBACK or
 * PUBREC of a publish that changed a persistent topic goes out only once the change is committed.
 * PUBACKs (and PUBRECs) must still go out in the order their PUBLISH packets came [MQTT-4.6.0-2]
 * [MQTT-4.6.0-3], so while any acknowledgement of a connection waits, every later one queues behind
 * it, even one with nothing to wait for. Acknowledgements that wait for the same commit (the engine
 * gives one promise per group-committed batch) share one group and one `then`: no promise per message.
 * Deliveries to subscribers do not wait; only the acknowledgement does.
 *
 * Bounded: past `mqtt.maxAcksAwaitingCommit` acknowledgements waiting, the connection is not read
 * until the commits bring them below half of it (TCP then slows the client), so a client that
 * publishes faster than the disk commits cannot make the queue grow without end.
 *
 * @module
 */
import type { IPublishPacket } from "mqtt-packet";
import type { MqttConnection } from "./connection.js";
import { Reason } from "./reason-codes.js";

interface Group {
  readonly commit: Promise<void>;
  readonly packets: IPublishPacket[];
  readonly reasons: number[];
  committed: boolean;
}

/** One connection's acknowledgements waiting for commits, in PUBLISH order. */
export class CommitAcks {
  private readonly groups: Group[] = [];
  /** Acknowledgements queued in {@link groups}. */
  private count = 0;
  /** True while reading is paused for this queue. */
  private paused = false;

  /**
   * @param conn The connection.
   * @param send Writes an acknowledgement now.
   */
  constructor(
    private readonly conn: MqttConnection,
    private readonly send: (conn: MqttConnection, packet: IPublishPacket, reason: number) => void,
  ) {}

  /** True while some acknowledgement waits (later ones must then queue behind it). */
  get waiting(): boolean {
    return this.groups.length > 0;
  }

  /**
   * Queues the acknowledgement of `packet` with `reason`, to go out once `commit` settles (when
   * given) and after every acknowledgement queued before it.
   */
  add(packet: IPublishPacket, reason: number, commit: Promise<void> | undefined): void {
    const tail = this.groups[this.groups.length - 1];
    if (tail !== undefined && (commit === undefined || commit === tail.commit)) {
      tail.packets.push(packet);
      tail.reasons.push(reason);
      this.counted();
      return;
    }
    if (commit === undefined) return this.send(this.conn, packet, reason);
    const group: Group = { commit, packets: [packet], reasons: [reason], committed: false };
    this.groups.push(group);
    this.counted();
    commit.then(
      () => {
        group.committed = true;
        this.flush();
      },
      (err: unknown) => this.failed(err),
    );
  }

  /** Sends the acknowledgements of the committed groups at the front, in order. */
  private flush(): void {
    while (this.groups.length > 0 && (this.groups[0] as Group).committed) {
      const group = this.groups.shift() as Group;
      this.count -= group.packets.length;
      for (let i = 0; i < group.packets.length; i++)
        this.send(this.conn, group.packets[i] as IPublishPacket, group.reasons[i] as number);
    }
    if (this.paused && this.count * 2 < this.conn.door.options.maxAcksAwaitingCommit) {
      this.paused = false;
      this.conn.commitsCaughtUp();
    }
  }

  /** One more acknowledgement waits: past the bound, the connection is not read. */
  private counted(): void {
    if (++this.count < this.conn.door.options.maxAcksAwaitingCommit || this.paused) return;
    this.paused = true;
    this.conn.door.core.metrics.inc("mqtt_reads_paused_for_commit_total");
    this.conn.awaitCommits();
  }

  /**
   * A commit failed: what waits is not acknowledged. The connection is closed so that the client
   * sends its unacknowledged QoS 1/2 messages again when it reconnects [MQTT-4.4.0-1].
   */
  private failed(err: unknown): void {
    if (this.groups.length === 0) return;
    this.groups.length = 0;
    this.count = 0;
    this.conn.door.core.metrics.inc("storage_commit_failures_total");
    this.conn.log.error({ err: (err as Error)?.message ?? String(err) }, "store commit failed");
    this.conn.close({ reason: Reason.IMPLEMENTATION_SPECIFIC_ERROR, message: "store commit failed" });
  }
}
