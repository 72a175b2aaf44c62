/**
 * Several instances sharing runs through Redis Streams (`REDIS_URL`).
 *
 * @module
 */

export {
  chatRunKey,
  createRedisChatRunIndex,
  type RedisChatRunIndexOptions,
} from './create-redis-chat-run-index.ts';
export {
  createRedisRunRegistry,
  type RedisRunRegistry,
  type RedisRunRegistryOptions,
  RemoteRun,
} from './create-redis-run-registry.ts';
export {
  createRedisRunStore,
  PRODUCER_LOST_MESSAGE,
  type RedisRunStore,
  type RedisRunStoreOptions,
  type RemoteRunSnapshot,
  type ReplicaFailure,
  redactRedisUrl,
} from './create-redis-run-store.ts';
