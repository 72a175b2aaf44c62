/**
 * The WebSocket transport of `streamwell/server` (`GET /ws/stream`), over a structural socket type.
 *
 * @module
 */
export * from './create-websocket-session.ts';
export * from './encode-ws-frame.ts';
export * from './parse-client-message.ts';
export * from './serve-websocket.ts';
export * from './websocket-credentials.ts';
export * from './websocket-like.ts';
