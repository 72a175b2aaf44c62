/**
 * The default transport: the streamwell HTTP endpoints, SSE over `fetch`.
 *
 * - start: `POST {url}` with JSON `{message, threadId?}` and `Idempotency-Key`; the stream id
 *   comes from the `X-Stream-Id` header;
 * - resume: `GET /api/streams/{id}` with `Last-Event-ID` (never the prompt again);
 * - cancel: `POST /api/streams/{id}/cancel`.
 *
 * @module
 */
import { StreamwellError } from '../errors/index.ts';
import { STREAM_EVENT_NAMES, STREAM_ID_HEADER, type StreamEvent } from '../protocol/index.ts';
import type { SseEvent } from '../protocol/sse-parser.ts';
import { openSseConnection, toStreamHttpError } from './open-sse-connection.ts';
import type { StreamTransport, TransportHandlers } from './stream-transport.ts';

/** Request headers: fixed, or computed per request (for a token that expires). */
export type HeadersOption =
  | Readonly<Record<string, string>>
  | (() => Readonly<Record<string, string>> | Promise<Readonly<Record<string, string>>>);

/** Options of {@link createSseTransport}. */
export interface SseTransportOptions {
  /** Start endpoint. @defaultValue '/api/stream/message' */
  readonly url?: string;
  /** Resume URL of a stream. @defaultValue `/api/streams/{id}` next to `url` */
  readonly resumeUrl?: (streamId: string) => string;
  /** Cancel URL of a stream. @defaultValue `/api/streams/{id}/cancel` next to `url` */
  readonly cancelUrl?: (streamId: string) => string;
  /** Extra headers on every request (for example `Authorization`). */
  readonly headers?: HeadersOption;
  /** @defaultValue globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** `fetch`'s `credentials` (cookies on a cross-origin server need `'include'`). */
  readonly credentials?: RequestCredentials;
  /** Parser limit per event. @defaultValue 1 MiB */
  readonly maxEventBytes?: number;
  /** Parser limit per line. @defaultValue 1 MiB */
  readonly maxLineBytes?: number;
}

/**
 * The default start endpoint of the reference server.
 *
 * @internal
 */
export const DEFAULT_STREAM_URL = '/api/stream/message';

const KNOWN_EVENTS = new Set<string>(STREAM_EVENT_NAMES);

/**
 * The URL of a stream next to the start URL: `/api/stream/message` → `/api/streams/{id}`,
 * keeping any prefix and origin; otherwise `/api/streams/{id}` at the start URL's origin.
 *
 * @param startUrl - the start endpoint
 * @param streamId - the stream
 * @param suffix - appended, e.g. `/cancel`
 * @returns the URL
 *
 * @internal
 */
export function streamUrlFor(startUrl: string, streamId: string, suffix = ''): string {
  const path = startUrl.split(/[?#]/, 1)[0] as string;
  const id = encodeURIComponent(streamId);
  if (path.endsWith('/stream/message')) return `${path.slice(0, -'/stream/message'.length)}/streams/${id}${suffix}`;
  const origin = /^[a-z][a-z0-9+.-]*:\/\/[^/]+/i.exec(path)?.[0] ?? '';
  return `${origin}/api/streams/${id}${suffix}`;
}

/**
 * Converts a parsed SSE event into a protocol event.
 *
 * @param event - the SSE event
 * @returns the protocol event, or undefined for an event name this protocol version does not know
 * @throws StreamwellError `parse_error` when the id is not a decimal integer or the data is not a JSON object
 *
 * @internal
 */
export function toStreamEvent(event: SseEvent): StreamEvent | undefined {
  if (!KNOWN_EVENTS.has(event.event)) return undefined;
  if (event.id === undefined || !/^\d{1,15}$/.test(event.id)) {
    throw new StreamwellError('parse_error', `The ${event.event} event has no numeric id, so it cannot be resumed.`);
  }
  let data: unknown;
  try {
    data = JSON.parse(event.data);
  } catch (error) {
    throw new StreamwellError('parse_error', `The data of ${event.event} event ${event.id} is not JSON.`, {
      cause: error,
    });
  }
  if (typeof data !== 'object' || data === null) {
    throw new StreamwellError('parse_error', `The data of ${event.event} event ${event.id} is not a JSON object.`);
  }
  return { id: Number(event.id), event: event.event, data } as StreamEvent;
}

async function resolveHeaders(headers: HeadersOption | undefined): Promise<Record<string, string>> {
  if (headers === undefined) return {};
  return { ...(typeof headers === 'function' ? await headers() : headers) };
}

/**
 * Creates the SSE transport.
 *
 * @param options - endpoints, headers, fetch and parser limits
 * @returns the transport
 */
export function createSseTransport(options: SseTransportOptions = {}): StreamTransport {
  const url = options.url ?? DEFAULT_STREAM_URL;
  const resumeUrl = options.resumeUrl ?? ((streamId: string) => streamUrlFor(url, streamId));
  const cancelUrl = options.cancelUrl ?? ((streamId: string) => streamUrlFor(url, streamId, '/cancel'));
  const limits = {
    ...(options.maxEventBytes === undefined ? {} : { maxEventBytes: options.maxEventBytes }),
    ...(options.maxLineBytes === undefined ? {} : { maxLineBytes: options.maxLineBytes }),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
  };
  const fetchFunction = (): typeof fetch => {
    const chosen = options.fetch ?? globalThis.fetch;
    if (typeof chosen !== 'function') {
      throw new StreamwellError('invalid_config', 'No fetch is available: pass `fetch` in the options.');
    }
    // Called through a wrapper so that a browser's fetch keeps `window` as its receiver.
    return (input, init) => chosen(input, init);
  };

  function eventHandlers(handlers: TransportHandlers) {
    return {
      onActivity: () => handlers.onActivity(),
      onRetry: (milliseconds: number) => handlers.onRetry(milliseconds),
      onEvent: (event: SseEvent) => {
        const streamEvent = toStreamEvent(event);
        if (streamEvent !== undefined) handlers.onEvent(streamEvent);
      },
    };
  }

  return {
    name: 'sse',
    async start(request, handlers, signal) {
      const headers = await resolveHeaders(options.headers);
      headers['Content-Type'] = 'application/json';
      if (request.idempotencyKey !== undefined) headers['Idempotency-Key'] = request.idempotencyKey;
      const body = JSON.stringify(
        request.threadId === undefined
          ? { message: request.message }
          : { message: request.message, threadId: request.threadId },
      );
      const result = await openSseConnection({
        url,
        method: 'POST',
        headers,
        body,
        signal,
        fetch: fetchFunction(),
        ...limits,
        ...eventHandlers(handlers),
        onResponse: (response) => {
          const streamId = response.headers.get(STREAM_ID_HEADER);
          if (streamId) handlers.onStreamId(streamId);
        },
      });
      return result === 'no-content' ? 'finished' : 'ended';
    },
    async resume(request, handlers, signal) {
      const result = await openSseConnection({
        url: resumeUrl(request.streamId),
        headers: await resolveHeaders(options.headers),
        lastEventId: request.after === undefined ? undefined : String(request.after),
        signal,
        fetch: fetchFunction(),
        ...limits,
        ...eventHandlers(handlers),
      });
      return result === 'no-content' ? 'finished' : 'ended';
    },
    async cancel(streamId, signal) {
      const target = cancelUrl(streamId);
      let response: Response;
      try {
        response = await fetchFunction()(target, {
          method: 'POST',
          headers: await resolveHeaders(options.headers),
          ...(signal === undefined ? {} : { signal }),
          ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
        });
      } catch (error) {
        throw new StreamwellError('network', `POST ${target} failed: ${(error as Error).message}`, {
          retryable: true,
          cause: error,
        });
      }
      // A stream that is gone has nothing left to stop.
      if (response.ok || response.status === 404) {
        await response.body?.cancel().catch(() => {});
        return;
      }
      throw await toStreamHttpError(response, `POST ${target}`);
    },
  };
}
