/**
 * The HTTP side of `streamwell/server`: a framework-agnostic core for the stream endpoints,
 * with a Node adapter and a Web (`Request`/`Response`) adapter.
 *
 * @module
 */
export * from './create-api-key-auth.ts';
export * from './create-chat-handler.ts';
export * from './create-cors-policy.ts';
export * from './create-heartbeat.ts';
export * from './create-stream-handler.ts';
export * from './handle-node-request.ts';
export * from './handle-web-request.ts';
export * from './http-types.ts';
export * from './parse-chat-request.ts';
export * from './parse-start-request.ts';
export * from './sse-connection.ts';
export * from './sse-event-encoder.ts';
export * from './stream-format.ts';
export * from './ui-message-stream-format.ts';
