/**
 * `streamwell/client`: the browser and Node side of the stream. Browser-safe: no Node modules,
 * no DOM globals (`fetch` is injectable).
 *
 * @module
 */
export * from '../errors/index.ts';
export * from '../protocol/index.ts';
export * from './backoff.ts';
export * from './client-metrics.ts';
export * from './create-chat-fetch.ts';
export * from './diagnose/index.ts';
export * from './diagnose-endpoint.ts';
export * from './sse-connection.ts';
export * from './sse-parser.ts';
export * from './sse-stream.ts';
export * from './sse-transport.ts';
export * from './stream-client.ts';
export * from './stream-http-error.ts';
export * from './stream-session.ts';
export * from './stream-sse-events.ts';
export * from './stream-store.ts';
export * from './stream-transport.ts';
export * from './ws-transport.ts';
