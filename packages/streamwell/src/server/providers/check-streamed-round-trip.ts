/**
 * The `stream` step of a provider self-test: one real streamed round trip through the provider
 * itself, judged the way the troubleshooting guide's "Agent SDK not streaming" and "tokens arrive
 * all at once" sections describe.
 *
 * @module
 */
import { isStreamwellError } from '../../errors/index.ts';
import type { ProviderEvent, ProviderRequest, ProviderSelfTestStep } from '../provider.ts';

/**
 * The prompt of the round trip: short, so that it costs a few tokens.
 *
 * @internal
 */
export const SELF_TEST_PROMPT = 'Reply with the single word OK.';

/**
 * Longest the round trip may take before it fails.
 *
 * @internal
 */
export const SELF_TEST_TIMEOUT_MS = 30_000;

/**
 * Streams one short reply and reports how it arrived.
 *
 * @param stream - the provider's `stream`
 * @param signal - aborts the check
 * @returns the `stream` step: `pass` when text arrived as a stream, `warn` when it came in one
 *   piece although it was long enough to be split, `fail` on an error or no text at all
 */
export async function checkStreamedRoundTrip(
  stream: (request: ProviderRequest) => AsyncIterable<ProviderEvent>,
  signal?: AbortSignal,
): Promise<ProviderSelfTestStep> {
  const timeout = AbortSignal.timeout(SELF_TEST_TIMEOUT_MS);
  const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
  const started = performance.now();
  let firstAt: number | undefined;
  let deltas = 0;
  let text = '';
  let finishReason = 'none';
  try {
    for await (const event of stream({
      messages: [{ role: 'user', content: SELF_TEST_PROMPT }],
      signal: combined,
      streamId: 'self-test',
      threadId: 'self-test',
    })) {
      if (event.type === 'text') {
        firstAt ??= performance.now();
        deltas += 1;
        text += event.text;
      } else if (event.type === 'finish') {
        finishReason = event.finishReason;
      }
    }
  } catch (error) {
    const reason = timeout.aborted
      ? `no complete reply within ${SELF_TEST_TIMEOUT_MS} ms`
      : isStreamwellError(error)
        ? error.message
        : error instanceof Error
          ? error.message
          : String(error);
    return {
      id: 'stream',
      status: 'fail',
      evidence: `The streamed round trip failed after ${Math.round(performance.now() - started)} ms: ${reason}`,
      fix: 'Check the model server logs; run `streamwell doctor` against the endpoint for the full checklist.',
    };
  }
  const total = Math.round(performance.now() - started);
  const first = firstAt === undefined ? undefined : Math.round(firstAt - started);
  if (deltas === 0) {
    return {
      id: 'stream',
      status: 'fail',
      evidence: `The model finished (${finishReason}) after ${total} ms without streaming any text.`,
      fix: 'Make sure the request streams (stream: true) and that the model produces text, not only tool calls.',
    };
  }
  const evidence = `${deltas} text deltas (${text.length} characters), first after ${first} ms, finished (${finishReason}) after ${total} ms.`;
  if (deltas === 1 && text.length > 24) {
    return {
      id: 'stream',
      status: 'warn',
      evidence: `${evidence} The whole reply came in one piece: the server or a proxy may not stream.`,
      fix: 'Check that the server streams Chat Completions and that no proxy buffers the response.',
    };
  }
  return { id: 'stream', status: 'pass', evidence };
}
