/**
 * Response headers that every event stream carries.
 *
 * @module
 */

/**
 * Headers for an SSE response. `no-transform` stops proxies and CDNs from compressing or
 * re-chunking; `X-Accel-Buffering: no` turns off nginx's response buffering for this response.
 *
 * No `Connection` header: HTTP/1.1 keeps a connection open by default, a client that sends
 * `Connection: close` must see the server close after the reply (RFC 9112 §9.6; a `keep-alive`
 * here overrode that in Node), and HTTP/2 forbids the header (RFC 9113 §8.2.2).
 */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
});

/** Response header naming the stream, so a client can resume it. */
export const STREAM_ID_HEADER = 'X-Stream-Id';

/** Response header carrying the protocol version. */
export const PROTOCOL_HEADER = 'X-Streamwell-Protocol';
