/**
 * Credentials and subprotocol of a `GET /ws/stream` upgrade.
 *
 * Browsers cannot set headers on a WebSocket, and a `?token=` query ends up in proxy access
 * logs, so a browser sends its API key as a subprotocol: `new WebSocket(url, ['streamwell.v1',
 * 'streamwell.bearer.' + base64url(key)])` (the Kubernetes API server uses the same scheme).
 * The server answers with `streamwell.v1` and never echoes the credential. Non-browser clients
 * may send `Authorization: Bearer <key>` instead; the header wins when both are present.
 *
 * Spec: https://www.rfc-editor.org/rfc/rfc6455#section-4.1 ("|Sec-WebSocket-Protocol| ... one or
 * more comma-separated subprotocol the client wishes to speak"; a value must be an RFC 7230 token,
 * hence base64url).
 *
 * @module
 */

import { WEBSOCKET_BEARER_PREFIX, WEBSOCKET_PROTOCOL } from '../../protocol/index.ts';
import { readBearerToken } from '../http/create-api-key-auth.ts';

/** The upgrade request's headers as Node (and most frameworks) expose them: lower-case names. */
export type UpgradeHeaders = Readonly<Record<string, string | readonly string[] | undefined>>;

function header(headers: UpgradeHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(', ') : (value as string | undefined);
}

function decodeBase64Url(text: string): string | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(binary, (character) => character.charCodeAt(0));
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

/**
 * The subprotocols a client offered, in order.
 *
 * @param headers - the upgrade request's headers
 * @returns the offered subprotocol names
 *
 * @internal
 */
export function offeredWebSocketProtocols(headers: UpgradeHeaders): string[] {
  const value = header(headers, 'sec-websocket-protocol');
  if (value === undefined) return [];
  return value
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part.length > 0);
}

/**
 * The credential of an upgrade request: the `Authorization: Bearer` token, else the
 * `streamwell.bearer.<base64url>` subprotocol.
 *
 * @param headers - the upgrade request's headers
 * @returns the token, or undefined when none was sent (or it is malformed)
 * @example readWebSocketCredential({ authorization: 'Bearer k1' }) // 'k1'
 */
export function readWebSocketCredential(headers: UpgradeHeaders): string | undefined {
  // The same header rule as the HTTP endpoints, so a key works (or fails) alike on both.
  const bearer = readBearerToken(header(headers, 'authorization'));
  if (bearer !== undefined) return bearer;
  for (const protocol of offeredWebSocketProtocols(headers)) {
    if (protocol.startsWith(WEBSOCKET_BEARER_PREFIX)) {
      return decodeBase64Url(protocol.slice(WEBSOCKET_BEARER_PREFIX.length));
    }
  }
  return undefined;
}

/**
 * Chooses the subprotocol to answer with: {@link WEBSOCKET_PROTOCOL} when offered. Never the
 * credential-carrying one, which must not be reflected into responses and logs.
 *
 * @param offered - the offered subprotocols (`ws` passes a `Set`)
 * @returns the protocol to select, or false to answer without one
 */
export function selectWebSocketProtocol(offered: Iterable<string>): string | false {
  for (const protocol of offered) if (protocol === WEBSOCKET_PROTOCOL) return protocol;
  return false;
}
