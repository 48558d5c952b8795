/**
 * A tiny typed event emitter, browser-safe (no `node:events`). Listeners run synchronously in the order
 * they were added; a listener that throws does not stop the others (its error is reported to
 * `onListenerError`, by default rethrown asynchronously so it surfaces without breaking the SDK).
 *
 * @module
 */

/** A map from event name to the type of its payload. */
export type EventMap = Record<string, unknown>;

/** A listener of event `K`. */
export type Listener<TEvents extends EventMap, K extends keyof TEvents> = (payload: TEvents[K]) => void;

/** Something listeners can subscribe to. */
export interface Subscribable<TEvents extends EventMap> {
  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof TEvents>(event: K, listener: Listener<TEvents, K>): () => void;
  /** Adds a listener that runs once. Returns a function that removes it. */
  once<K extends keyof TEvents>(event: K, listener: Listener<TEvents, K>): () => void;
  /** Removes a listener. */
  off<K extends keyof TEvents>(event: K, listener: Listener<TEvents, K>): void;
}

/** The emitter. Owners call {@link Emitter.emit}; others see only {@link Subscribable}. */
export class Emitter<TEvents extends EventMap> implements Subscribable<TEvents> {
  private readonly listeners = new Map<keyof TEvents, Set<Listener<TEvents, keyof TEvents>>>();

  /** @param onListenerError - called with whatever a listener throws */
  constructor(private readonly onListenerError: (err: unknown) => void = rethrowLater) {}

  /** {@inheritDoc Subscribable.on} */
  on<K extends keyof TEvents>(event: K, listener: Listener<TEvents, K>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<TEvents, keyof TEvents>);
    return () => this.off(event, listener);
  }

  /** {@inheritDoc Subscribable.once} */
  once<K extends keyof TEvents>(event: K, listener: Listener<TEvents, K>): () => void {
    const off = this.on(event, (payload) => {
      off();
      listener(payload);
    });
    return off;
  }

  /** {@inheritDoc Subscribable.off} */
  off<K extends keyof TEvents>(event: K, listener: Listener<TEvents, K>): void {
    this.listeners.get(event)?.delete(listener as Listener<TEvents, keyof TEvents>);
  }

  /** Calls every listener of `event` with `payload`. */
  emit<K extends keyof TEvents>(event: K, payload: TEvents[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch (err) {
        this.onListenerError(err);
      }
    }
  }

  /** Removes every listener. */
  clear(): void {
    this.listeners.clear();
  }
}

/** Rethrows outside the SDK's call stack, so a faulty listener is visible but harmless to the SDK. */
export function rethrowLater(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}
