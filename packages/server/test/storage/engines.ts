/**
 * The storage engines under test, each made fresh in its own temporary directory, so that one table
 * of tests runs against every engine.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { LoadedRecord, Storage } from "../../src/core/storage.js";
import { MemoryStorage } from "../../src/storage/memory-store.js";
import { SqliteStorage } from "../../src/storage/sqlite-store.js";

/** An engine under test; `dispose` closes it and removes its files. */
export interface EngineUnderTest {
  readonly storage: Storage;
  /** Closes and reopens the same data (sqlite) or returns the same store (memory). */
  reopen(): Promise<Storage>;
  dispose(): Promise<void>;
}

/** The engines, by name. */
export const ENGINES: Record<string, () => EngineUnderTest> = {
  memory: () => {
    const storage = new MemoryStorage();
    return { storage, reopen: () => Promise.resolve(storage), dispose: () => storage.close() };
  },
  sqlite: () => {
    const dataDir = mkdtempSync(join(tmpdir(), "skein-store-"));
    let storage: Storage = SqliteStorage.open({ dataDir, maxBatchDelayMs: 0 });
    return {
      get storage() {
        return storage;
      },
      async reopen() {
        await storage.close();
        storage = SqliteStorage.open({ dataDir, maxBatchDelayMs: 0 });
        return storage;
      },
      async dispose() {
        await storage.close();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  },
};

/** Every record a store loads, in load order, and how many batches carried them. */
export async function loadAll(storage: Storage): Promise<{ records: LoadedRecord[]; batches: number }> {
  const records: LoadedRecord[] = [];
  let batches = 0;
  for await (const batch of storage.load()) {
    batches++;
    records.push(...batch);
  }
  return { records, batches };
}

/** A temporary directory, removed by `dispose`. */
export function tempDir(prefix: string): { dir: string; dispose(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}
