/**
 * The chat index: which run is a chat's latest one. The AI SDK names a chat, never a stream
 * (`GET /api/chat/{chatId}/stream`, `POST /api/chat/{chatId}/cancel`), so the chat endpoints look
 * the stream id up here. Scoped by principal, like runs and threads: another principal's chat id
 * finds nothing.
 *
 * {@link createMemoryChatRunIndex} serves one process; several instances share
 * `createRedisChatRunIndex` (a key per chat, with a TTL, under the run store's prefix).
 *
 * @module
 */

/** The chat → latest run mapping. A call may answer synchronously or with a promise. */
export interface ChatRunIndex {
  /**
   * Records `streamId` as the chat's latest run.
   *
   * @param owner - the principal (undefined without auth)
   * @param chatId - the chat (thread) id
   * @param streamId - the run's stream id
   * @returns the stream id it replaces, if any
   * @throws StreamwellError `store_unavailable` (503) from a shared store
   */
  set(owner: string | undefined, chatId: string, streamId: string): string | undefined | Promise<string | undefined>;
  /**
   * The chat's latest run, if recorded and not expired.
   *
   * @throws StreamwellError `store_unavailable` (503) from a shared store
   */
  get(owner: string | undefined, chatId: string): string | undefined | Promise<string | undefined>;
}

/** Options of {@link createMemoryChatRunIndex}. */
export interface MemoryChatRunIndexOptions {
  /**
   * How long an entry lasts: at least a run's longest duration plus its retention.
   * @defaultValue 420000 (the default 120 s stream timeout plus 300 s retention)
   */
  readonly ttlMs?: number;
  /** Most chats remembered; the least recently started is dropped past it. @defaultValue 100000 */
  readonly maxEntries?: number;
}

interface Entry {
  readonly streamId: string;
  readonly expiresAt: number;
}

/**
 * Creates the in-process chat index (one instance).
 *
 * @param options - TTL and size bound
 * @returns the index
 * @example
 * const chats = createChatHandler({ streams, chatRuns: createMemoryChatRunIndex({ ttlMs: 600_000 }) });
 */
export function createMemoryChatRunIndex(options: MemoryChatRunIndexOptions = {}): ChatRunIndex {
  const ttlMs = options.ttlMs ?? 420_000;
  const maxEntries = options.maxEntries ?? 100_000;
  // Insertion order = order of the latest start: the first key is the one to drop.
  const entries = new Map<string, Entry>();
  const keyOf = (owner: string | undefined, chatId: string): string => `${owner ?? ''}\u0000${chatId}`;

  function lookup(key: string): Entry | undefined {
    const entry = entries.get(key);
    if (entry !== undefined && entry.expiresAt <= performance.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry;
  }

  return {
    set(owner, chatId, streamId) {
      const key = keyOf(owner, chatId);
      const previous = lookup(key);
      entries.delete(key);
      entries.set(key, { streamId, expiresAt: performance.now() + ttlMs });
      if (entries.size > maxEntries) {
        const oldest = entries.keys().next().value;
        if (oldest !== undefined) entries.delete(oldest);
      }
      return previous?.streamId;
    },
    get(owner, chatId) {
      return lookup(keyOf(owner, chatId))?.streamId;
    },
  };
}
