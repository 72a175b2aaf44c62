/**
 * `streamwell/server`: runs, the run registry, providers and the HTTP adapters.
 *
 * @module
 */
export * from '../errors/index.ts';
export * from '../protocol/index.ts';
export * from './chat-run-index.ts';
export * from './http/index.ts';
export * from './memory-run-event-log.ts';
export * from './provider.ts';
export * from './providers/create-demo-provider.ts';
export * from './providers/index.ts';
export * from './redis/index.ts';
export * from './run.ts';
export * from './run-event-log.ts';
export * from './run-handle.ts';
export * from './run-registry.ts';
export * from './thread-store.ts';
export * from './ws/index.ts';
