/**
 * `streamwell/protocol`: the wire protocol shared by server and client. Isomorphic: no Node
 * modules, no DOM.
 *
 * @module
 */
export * from './encode-sse.ts';
export * from './events.ts';
export * from './headers.ts';
export * from './websocket-protocol.ts';
