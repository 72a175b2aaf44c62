/**
 * WebSocket subprotocols shared by the server and the client.
 *
 * A browser cannot set headers on a WebSocket handshake, and a `?token=` query lands in proxy
 * access logs, so a browser sends its API key as a subprotocol next to {@link WEBSOCKET_PROTOCOL}:
 * `new WebSocket(url, ['streamwell.v1', encodeBearerProtocol(key)])`. Subprotocol tokens allow
 * only a few characters, hence base64url.
 *
 * @module
 */

/** The subprotocol both ends speak; the server answers with it and never with the bearer one. */
export const WEBSOCKET_PROTOCOL = 'streamwell.v1';

/** Prefix of the subprotocol that carries a base64url-encoded bearer credential. */
export const WEBSOCKET_BEARER_PREFIX = 'streamwell.bearer.';

/**
 * Encodes bytes as base64url without padding (RFC 4648 §5).
 *
 * @param bytes - the bytes
 * @returns the text, `[A-Za-z0-9_-]*`
 *
 * @internal
 */
export function encodeBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Encodes an API key as the bearer subprotocol that a browser client offers.
 *
 * @param key - the API key (any Unicode; encoded as UTF-8)
 * @returns `streamwell.bearer.<base64url(key)>`
 */
export function encodeBearerProtocol(key: string): string {
  return `${WEBSOCKET_BEARER_PREFIX}${encodeBase64Url(new TextEncoder().encode(key))}`;
}
