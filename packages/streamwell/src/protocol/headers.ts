/**
 * Response headers that every event stream carries.
 *
 * @module
 */

/**
 * Headers for an SSE response. `no-transform` stops proxies and CDNs from compressing or
 * re-chunking; `X-Accel-Buffering: no` turns off nginx's response buffering for this response.
 */
export const SSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  'X-Accel-Buffering': 'no',
  Connection: 'keep-alive',
});

/** Response header naming the stream, so a client can resume it. */
export const STREAM_ID_HEADER = 'X-Stream-Id';

/** Response header carrying the protocol version. */
export const PROTOCOL_HEADER = 'X-Streamwell-Protocol';
