/** The memory store: keeps nothing across restarts. For tests and ephemeral servers. */
import type { Store, StoredSession, StoredTopic } from "../core/ports.js";

/** A {@link Store} that holds data in memory only. */
export class MemoryStore implements Store {
  readonly kind = "memory";
  private readonly topics = new Map<string, StoredTopic>();
  private readonly sessions = new Map<string, StoredSession>();

  async open(): Promise<void> {}
  async close(): Promise<void> {}
  async loadTopics(): Promise<StoredTopic[]> {
    return [...this.topics.values()];
  }
  putTopic(topic: StoredTopic): void {
    this.topics.set(topic.path, topic);
  }
  removeTopic(path: string): void {
    this.topics.delete(path);
  }
  async loadSessions(): Promise<StoredSession[]> {
    return [...this.sessions.values()];
  }
  putSession(session: StoredSession): void {
    this.sessions.set(session.clientId, session);
  }
  removeSession(clientId: string): void {
    this.sessions.delete(clientId);
  }
}
