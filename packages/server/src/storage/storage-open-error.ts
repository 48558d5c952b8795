/**
 * The one error a storage engine raises when it refuses to open a data directory: what is wrong, with
 * which file, and what the operator can do. The CLI prints its message as one line and exits.
 *
 * @module
 */

/** Why a store refused to open. */
export type StorageOpenFailure =
  "corrupt" | "truncated" | "newer-schema" | "foreign" | "locked" | "unreadable";

/** A refusal to open a data directory; `message` is one line naming the file and the remedy. */
export class StorageOpenError extends Error {
  /** The error's name. */
  override readonly name = "StorageOpenError";

  /**
   * @param reason Why the store refused.
   * @param file The file at fault.
   * @param message One line: what is wrong with `file` and what to do.
   * @param cause The underlying error, if any.
   */
  constructor(
    readonly reason: StorageOpenFailure,
    readonly file: string,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}
