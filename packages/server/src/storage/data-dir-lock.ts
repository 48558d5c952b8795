/**
 * The data directory's lock: a file `skein.lock` holding the owner's pid, created exclusively (`wx`).
 * A lock whose pid is no longer alive is stale (its owner was killed) and is taken over; a live one
 * refuses the second server. Works across processes; the OS releases nothing for us, so a pid reused
 * by an unrelated process after a crash keeps the lock until the operator removes the file (the
 * refusal says so).
 *
 * @module
 */
import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { StorageOpenError } from "./storage-open-error.js";

/** The lock file's name inside a data directory. */
export const LOCK_FILE = "skein.lock";

/** A held lock; {@link DataDirLock.release} removes the file. */
export interface DataDirLock {
  /** The lock file's path. */
  readonly file: string;
  /** Removes the lock file (idempotent). */
  release(): void;
}

/** Whether a process with this pid is alive (EPERM: alive, owned by someone else). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Reads the pid of a lock file; undefined when it is unreadable or holds no pid. */
function readPid(file: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(file, "utf8").trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Takes the lock of `dataDir` for this process, or throws a {@link StorageOpenError} (`locked`) when a
 * live process (this one included) holds it.
 */
export function lockDataDir(dataDir: string): DataDirLock {
  const file = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(file, "wx");
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      let held = true;
      return {
        file,
        release() {
          if (!held) return;
          held = false;
          if (readPid(file) === process.pid) unlinkSync(file);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") {
        throw new StorageOpenError(
          "unreadable",
          file,
          `Skein cannot create its lock file ${file}: ${(err as Error).message}. Check that the data directory is writable.`,
          err,
        );
      }
      const pid = readPid(file);
      if (pid !== undefined && isAlive(pid)) {
        throw new StorageOpenError(
          "locked",
          file,
          `Skein cannot use the data directory ${dataDir}: it is in use by another running Skein (pid ${pid}, lock file ${file}). Stop that server or choose another --data-dir; if no Skein runs, delete ${file}.`,
        );
      }
      // Stale (owner gone) or empty (owner died while writing it): take it over.
      try {
        unlinkSync(file);
      } catch {
        // another process took it over first: try again
      }
    }
  }
  throw new StorageOpenError(
    "locked",
    file,
    `Skein cannot take the lock ${file}: another process keeps taking it. Stop the other server or choose another --data-dir.`,
  );
}
