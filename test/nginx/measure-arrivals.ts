/**
 * Reads an SSE response and records when each event arrived and in which network read, to tell
 * incremental delivery (one read per token, spread over the generation time) from buffered
 * delivery (everything in one or two reads at the end).
 *
 * @module
 */

/** One received event. */
export interface Arrival {
  readonly id: string | undefined;
  readonly event: string;
  readonly data: string;
  /** `performance.now()` when the read that completed it returned. */
  readonly at: number;
  /** Index of that read. */
  readonly read: number;
}

/** What a stream looked like at the client. */
export interface DeliveryProfile {
  readonly arrivals: readonly Arrival[];
  /** Comment lines (heartbeats) seen. */
  readonly comments: number;
  /** Distinct reads that carried at least one token. */
  readonly tokenReads: number;
  /** Time between the first and the last token. */
  readonly tokenSpreadMs: number;
  /** The reply text. */
  readonly text: string;
  /** The terminal event, if one arrived. */
  readonly terminal: Arrival | undefined;
}

/**
 * Reads `response` to its end (or until `stopAfterTokens` tokens, then cancels it).
 *
 * @param response - a `text/event-stream` response
 * @param stopAfterTokens - drop the connection after this many tokens
 * @returns the profile
 */
export async function measureArrivals(
  response: Response,
  stopAfterTokens = Number.POSITIVE_INFINITY,
): Promise<DeliveryProfile> {
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  const arrivals: Arrival[] = [];
  let buffer = '';
  let comments = 0;
  let read = 0;
  let tokens = 0;
  reading: for (;;) {
    const chunk = await reader.read().catch(() => ({ done: true as const, value: undefined }));
    if (chunk.done) break;
    const at = performance.now();
    read += 1;
    buffer += decoder.decode(chunk.value, { stream: true }).replace(/\r\n?/g, '\n');
    for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (block.startsWith(':')) {
        comments += 1;
        continue;
      }
      const field = (name: string): string | undefined => new RegExp(`^${name}: ?(.*)$`, 'm').exec(block)?.[1];
      const arrival = { id: field('id'), event: field('event') ?? 'message', data: field('data') ?? '', at, read };
      arrivals.push(arrival);
      if (arrival.event === 'token' && ++tokens >= stopAfterTokens) break reading;
    }
  }
  await reader.cancel().catch(() => {});
  const tokenArrivals = arrivals.filter((arrival) => arrival.event === 'token');
  return {
    arrivals,
    comments,
    tokenReads: new Set(tokenArrivals.map((arrival) => arrival.read)).size,
    tokenSpreadMs:
      tokenArrivals.length < 2 ? 0 : (tokenArrivals.at(-1) as Arrival).at - (tokenArrivals[0] as Arrival).at,
    text: tokenArrivals.map((arrival) => (JSON.parse(arrival.data) as { token: string }).token).join(''),
    terminal: arrivals.find((arrival) => arrival.event === 'done' || arrival.event === 'error'),
  };
}
