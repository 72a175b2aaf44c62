/**
 * The chat index of several instances: a chat's latest run in Redis, so that
 * `GET /api/chat/{chatId}/stream` and `POST /api/chat/{chatId}/cancel` find a reply started
 * through any instance. One string key per chat and principal under the run store's prefix,
 * `{prefix}chat:{hash}` (the hash of principal and chat id keeps keys short and free of
 * separators), expiring after `ttlMs`.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import type { ChatRunIndex } from '../chat-run-index.ts';
import { type RedisRunStore, storeUnavailable } from './create-redis-run-store.ts';

/** Options of {@link createRedisChatRunIndex}. */
export interface RedisChatRunIndexOptions {
  /** The connected run store: its connection and prefix are used. */
  readonly store: RedisRunStore;
  /**
   * How long an entry lasts: at least a run's longest duration plus its retention
   * (`STREAM_TIMEOUT_MS + STREAM_RETENTION_MS`). @defaultValue 420000
   */
  readonly ttlMs?: number;
}

/**
 * The key of a chat's entry.
 *
 * @param prefix - `REDIS_PREFIX`
 * @param owner - the principal
 * @param chatId - the chat id
 * @returns the key
 */
export function chatRunKey(prefix: string, owner: string | undefined, chatId: string): string {
  const scope = createHash('sha256')
    .update(`${owner ?? ''}\u0000${chatId}`)
    .digest('base64url');
  return `${prefix}chat:${scope}`;
}

/**
 * Creates the chat index on the run store's Redis.
 *
 * @param options - the store and the entries' TTL
 * @returns the index
 * @example
 * const store = await createRedisRunStore({ url: process.env.REDIS_URL });
 * const chats = createChatHandler({ streams, chatRuns: createRedisChatRunIndex({ store }) });
 */
export function createRedisChatRunIndex(options: RedisChatRunIndexOptions): ChatRunIndex {
  const { store } = options;
  const ttl = String(options.ttlMs ?? 420_000);
  return {
    async set(owner, chatId, streamId) {
      try {
        // One round trip: the new run in, the one it replaces out (SET ... GET, Redis 6.2+).
        const previous = await store.sendCommand([
          'SET',
          chatRunKey(store.prefix, owner, chatId),
          streamId,
          'PX',
          ttl,
          'GET',
        ]);
        return previous === null || previous === undefined ? undefined : String(previous);
      } catch (error) {
        throw storeUnavailable(error);
      }
    },
    async get(owner, chatId) {
      try {
        const current = await store.sendCommand(['GET', chatRunKey(store.prefix, owner, chatId)]);
        return current === null || current === undefined ? undefined : String(current);
      } catch (error) {
        throw storeUnavailable(error);
      }
    },
  };
}
