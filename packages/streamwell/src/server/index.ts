/**
 * `streamwell/server`: runs, the run registry, providers and the HTTP adapters.
 *
 * @module
 */
export * from '../errors/index.ts';
export * from '../protocol/index.ts';
export * from './http/index.ts';
export * from './provider.ts';
export * from './providers/create-demo-provider.ts';
export * from './providers/index.ts';
export * from './run.ts';
export * from './run-registry.ts';
// The synchronous in-memory history store the run registry still uses; `ThreadStore` now names
// the async port of ./threads (the registry moves to it).
export { createThreadStore, type ThreadStoreOptions } from './thread-store.ts';
export * from './threads/index.ts';
export * from './ws/index.ts';
