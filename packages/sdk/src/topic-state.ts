/**
 * The topics this session has selected, as the server announced them: `topic { tid, path, spec,
 * value? }` adds one, `v { t, v }` replaces its value, `untopic { tid }` removes it. `tid` is a
 * server-wide topic id that later `v` frames use instead of the path.
 *
 * @module
 */
import type { TopicSpecification } from "@skein/protocol";

/** A selected topic and its latest value's bytes. */
export interface SelectedTopic {
  /** The server's id of the topic. */
  readonly tid: number;
  /** The topic's path. */
  path: string;
  /** The topic's specification. */
  spec: TopicSpecification;
  /** Its latest value's bytes, if any has been seen. */
  value: Uint8Array | undefined;
}

/** The selected topics by tid. */
export class TopicState {
  private readonly byTid = new Map<number, SelectedTopic>();

  /** How many topics are selected. */
  get size(): number {
    return this.byTid.size;
  }

  /** Adds (or, for a known tid, replaces the path and spec of) a topic; returns it. */
  add(tid: number, path: string, spec: TopicSpecification, value: Uint8Array | undefined): SelectedTopic {
    const known = this.byTid.get(tid);
    if (known) {
      known.path = path;
      known.spec = spec;
      return known;
    }
    const topic: SelectedTopic = { tid, path, spec, value };
    this.byTid.set(tid, topic);
    return topic;
  }

  /** The topic with id `tid`. */
  get(tid: number): SelectedTopic | undefined {
    return this.byTid.get(tid);
  }

  /** Removes and returns the topic with id `tid`. */
  remove(tid: number): SelectedTopic | undefined {
    const topic = this.byTid.get(tid);
    this.byTid.delete(tid);
    return topic;
  }

  /** Every selected topic. */
  all(): IterableIterator<SelectedTopic> {
    return this.byTid.values();
  }

  /** Forgets every topic (a new session selects nothing). */
  clear(): void {
    this.byTid.clear();
  }
}
