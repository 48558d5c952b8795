/**
 * The server's logger: pino, JSON lines for log collectors, or readable lines on a terminal
 * (`logFormat`: auto | json | pretty). Secrets never reach a log line at any level: fields named like
 * passwords, tokens, credentials, authorization headers or payloads are censored by pino's redaction,
 * wherever in the logged object they are (two levels deep).
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from "pino";
import type { SkeinConfig } from "../config.js";

/** Field names never written as they are. */
const SECRET_FIELDS = ["password", "token", "credentials", "authorization", "payload", "secret"];

/** pino redaction paths for {@link SECRET_FIELDS}, at the top level and one or two levels down. */
export const REDACT_PATHS: readonly string[] = SECRET_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`]);

/** Where log lines go: anything with pino's `write(line)`. */
export type LogDestination = DestinationStream;

/** Makes the server's logger from the configuration, writing to `destination` (default stdout). */
export function createLogger(cfg: SkeinConfig, destination?: LogDestination): PinoLogger {
  const out = destination ?? process.stdout;
  const pretty =
    cfg.logFormat === "pretty" ||
    (cfg.logFormat === "auto" && destination === undefined && process.stdout.isTTY === true);
  const options = {
    level: cfg.logLevel,
    base: { server: cfg.serverName },
    redact: { paths: [...REDACT_PATHS], censor: "[redacted]" },
  };
  return pino(
    options,
    pretty ? prettyLines(out, out === process.stdout && process.stdout.isTTY === true) : out,
  );
}

const LEVEL_NAMES: Record<number, string> = {
  10: "TRACE",
  20: "DEBUG",
  30: "INFO ",
  40: "WARN ",
  50: "ERROR",
  60: "FATAL",
};
const LEVEL_COLOURS: Record<number, string> = { 10: "90", 20: "36", 30: "32", 40: "33", 50: "31", 60: "35" };
/** Fields every line has, shown in the line's head or left out. */
const HEAD_FIELDS = new Set(["level", "time", "msg", "pid", "hostname", "server"]);

/**
 * A tiny pretty printer (instead of pino-pretty and its dependencies): `12:03:04.567 INFO  msg
 * key=value ...`, coloured on a terminal. It formats what pino wrote, so redaction has applied.
 */
export function prettyLines(out: { write(s: string): unknown }, colour: boolean): LogDestination {
  return {
    write(line: string): void {
      let entry: Record<string, unknown>;
      try {
        entry = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      const level = Number(entry.level);
      const time = new Date(Number(entry.time)).toISOString().slice(11, 23);
      let name = LEVEL_NAMES[level] ?? String(entry.level);
      if (colour) name = `\x1b[${LEVEL_COLOURS[level] ?? "0"}m${name}\x1b[0m`;
      const msg = typeof entry.msg === "string" ? entry.msg : "";
      let text = `${time} ${name} ${msg}`;
      for (const [key, value] of Object.entries(entry)) {
        if (HEAD_FIELDS.has(key) || value === undefined) continue;
        // The start-up lines carry their URL in the message already.
        if (typeof value === "string" && value.length > 8 && msg.includes(value)) continue;
        text += ` ${key}=${typeof value === "string" && /^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)}`;
      }
      out.write(text + "\n");
    },
  };
}
