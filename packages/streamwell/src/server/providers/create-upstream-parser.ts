/**
 * The SSE parser of an upstream Chat Completions body, shared by the provider's generator path
 * and its batch path ({@link dispatchChatCompletion}).
 *
 * @module
 */
import { createSseByteParser } from '../../client/sse-stream.ts';
import type { ProviderEvent } from '../provider.ts';
import type { createChatCompletionDecoder } from './create-chat-completion-decoder.ts';
import { createUpstreamError, readUpstreamMessage } from './create-upstream-error.ts';

/** What the parser needs to know of the request. */
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
 */
export function createUpstreamParser(
  options: UpstreamParserOptions,
  decoder: ReturnType<typeof createChatCompletionDecoder>,
  sink: () => ProviderEvent[],
): ReturnType<typeof createSseByteParser> {
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
