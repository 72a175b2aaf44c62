/**
 * The SSE parser of an upstream Chat Completions body, shared by the provider's generator path
 * and its batch path ({@link dispatchChatCompletion}).
 *
 * @module
 */
import { createSseByteParser, type SseByteParser } from '../../protocol/sse-stream.ts';
import type { ProviderEvent } from '../provider.ts';
import type { ChatCompletionDecoder, createChatCompletionDecoder } from './create-chat-completion-decoder.ts';
import { createUpstreamError, readUpstreamMessage } from './create-upstream-error.ts';

/**
 * Limits and waits shared by the provider's two ways of reading an upstream reply.
 *
 * @internal
 */
export const UPSTREAM_READ_LIMITS = Object.freeze({
  /** Most bytes of an error body that are read for its message. */
  maxErrorBodyBytes: 16 * 1024,
  /** Most bytes of a whole (non-streamed) JSON completion. */
  maxWholeBodyBytes: 8 * 1024 * 1024,
  /** How long a reply waits for the end of the body after `[DONE]` before it reports the finish. */
  endWaitMs: 100,
  /** How long the tail of a body after `[DONE]` may take before the connection is dropped. */
  drainTimeoutMs: 2_000,
});

/**
 * What the parser needs to know of the request.
 *
 * @internal
 */
export interface UpstreamParserOptions {
  /** `POST <url>`, for error messages. */
  readonly target: string;
  /** The key in use, scrubbed from upstream messages. */
  readonly apiKey: string | undefined;
  /** Longest SSE event (and line) accepted. */
  readonly maxEventBytes: number;
}

/**
 * Creates the parser of one upstream body: each `data`
 * goes through the Chat Completions decoder into the array `sink()` returns at that moment (the
 * callers swap arrays), and an SSE `error` event fails the stream with the upstream's message.
 *
 * A read that is exactly one `data:` event of the chunk the decoder learned, with other plain
 * ASCII text, arriving between events, skips the UTF-8 decode, the SSE parser and the template
 * match on the decoded text ({@link ChatCompletionDecoder.pushFrame}): that is every read of a
 * stream at speed, where each read carries one token. It costs 3,707 instead of 4,943 callgrind
 * instructions per such read (steady state, the benchmark's 230-byte chunk).
 *
 * @internal
 */
export function createUpstreamParser(
  options: UpstreamParserOptions,
  decoder: ReturnType<typeof createChatCompletionDecoder>,
  sink: () => ProviderEvent[],
): SseByteParser {
  const parser = createUpstreamSseParser(options, decoder, sink);
  // A frame `data: <payload>\n\n` is a line of its length minus 2 (at most `maxLineBytes`, which
  // is `maxEventBytes` here) and data of its length minus 8 (less than `maxEventBytes`): the fast
  // path only takes frames that the parser would take too.
  const maxFrameBytes = options.maxEventBytes + 2;
  return {
    feed(chunk) {
      // At speed each read carries one token: one `data:` event of the same JSON chunk with
      // other text. Between events such a read is read by its template, from its bytes.
      if (
        Buffer.isBuffer(chunk) &&
        chunk.length <= maxFrameBytes &&
        parser.atEventBoundary &&
        decoder.pushFrame(chunk, sink())
      ) {
        return;
      }
      parser.feed(chunk);
    },
    end: () => parser.end(),
    reset: (resetOptions) => parser.reset(resetOptions),
    get lastEventId() {
      return parser.lastEventId;
    },
    get terminated() {
      return parser.terminated;
    },
    get atEventBoundary() {
      return parser.atEventBoundary;
    },
  };
}

function createUpstreamSseParser(
  options: UpstreamParserOptions,
  decoder: ReturnType<typeof createChatCompletionDecoder>,
  sink: () => ProviderEvent[],
): SseByteParser {
  return createSseByteParser({
    maxEventBytes: options.maxEventBytes,
    maxLineBytes: options.maxEventBytes,
    onEvent(event) {
      if (decoder.finished) return;
      if (event.event === 'error') {
        throw createUpstreamError({
          target: options.target,
          upstreamMessage: readUpstreamMessage(event.data) || 'error event in stream',
          apiKey: options.apiKey,
        });
      }
      decoder.push(event.data, sink());
    },
  });
}
