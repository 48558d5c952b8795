/**
 * The small interfaces through which the core reaches the world: logger and clock (the storage port
 * is `storage.ts`). Doors and hosts implement or consume these; the core imports none of them.
 */
import { systemClock as platformClock } from "@skein/protocol";

/** Structured logger (pino's shape). */
export interface Logger {
  /** Logs `obj` (structured fields) and `msg` at level debug. */
  debug(obj: object, msg?: string): void;
  /** Logs at level info. */
  info(obj: object, msg?: string): void;
  /** Logs at level warn. */
  warn(obj: object, msg?: string): void;
  /** Logs at level error. */
  error(obj: object, msg?: string): void;
  /** A logger that adds `bindings` to every entry. */
  child(bindings: Record<string, unknown>): Logger;
  /** Whether entries at `level` are written (pino has it); absent: assume they are. */
  isLevelEnabled?(level: "debug" | "info" | "warn" | "error"): boolean;
}

/**
 * Whether `log` writes entries at `level` (true when it cannot tell): lets a caller skip building what
 * only a dropped line would use, such as a connection's child logger.
 */
export function logsAt(log: Logger, level: "debug" | "info" | "warn" | "error"): boolean {
  return log.isLevelEnabled?.(level) ?? true;
}

/** A logger that drops everything. */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};

/** Time and timers, injected so tests and the core stay deterministic. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
  /** Calls `fn` once after `ms` milliseconds. */
  setTimeout(fn: () => void, ms: number): Timer;
  /** Cancels a timer of {@link Clock.setTimeout}. */
  clearTimeout(timer: Timer): void;
}

/** A timer handle. */
export interface Timer {
  /** Lets the process exit while the timer is armed (Node's timers); absent elsewhere. */
  unref?(): unknown;
}

/** The system clock (the one @skein/protocol's Deadlines and the SDK use). */
export const systemClock: Clock = platformClock;
