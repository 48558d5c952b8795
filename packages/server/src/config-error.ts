/**
 * The error of a configuration that cannot work: invalid keys or values, half a TLS configuration, a
 * PEM or key file that cannot be read. `createServer()` throws it (and `listen()` rejects with it for
 * files read at start-up); the CLI prints its message and exits with status 2.
 *
 * @module
 */

/** A configuration the server refuses to start with; `message` says what is wrong, one line a problem. */
export class ConfigError extends Error {
  /** The error's name. */
  override readonly name = "ConfigError";

  /**
   * @param message What is wrong, one line per problem.
   * @param cause The underlying error, if any (e.g. the file system's).
   */
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
  }
}
