/**
 * Durable conversations: the thread store port, its memory and SQL implementations, and the
 * recorder that writes streaming replies.
 *
 * @module
 */
export * from './create-memory-thread-store.ts';
export * from './create-sql-thread-store.ts';
export * from './create-thread-recorder.ts';
export * from './parse-database-url.ts';
export * from './thread-store.ts';
export * from './to-store-error.ts';
