/**
 * The provider contract: what the run needs from a model backend (the Agents SDK, an
 * OpenAI-compatible Chat Completions server, or the built-in demo model).
 *
 * @module
 */
import type { FinishReason } from '../protocol/index.ts';

/** One message of a thread's history, in the order the model sees it. */
export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/**
 * What a provider yields while it streams. The run turns these into protocol events; an event
 * whose `type` is none of these is dropped.
 */
export type ProviderEvent =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'tool-call'; readonly callId: string; readonly name: string; readonly arguments: string }
  | { readonly type: 'tool-result'; readonly callId: string; readonly output: string }
  | { readonly type: 'handoff'; readonly from?: string; readonly to: string }
  | { readonly type: 'finish'; readonly finishReason: FinishReason };

/** One generation request. */
export interface ProviderRequest {
  /** The thread's history, ending with the new user message. */
  readonly messages: readonly ChatMessage[];
  /**
   * Aborted when the run is cancelled or times out. A provider must pass it to its HTTP request,
   * so that the upstream sees the connection close and stops generating (and billing).
   */
  readonly signal: AbortSignal;
  readonly streamId: string;
  readonly threadId: string;
}

/** Result of a provider self-test (`streamwell doctor --provider`). */
export interface ProviderSelfTestStep {
  readonly id: 'key' | 'model' | 'stream';
  readonly status: 'pass' | 'warn' | 'fail';
  readonly evidence: string;
  readonly fix?: string;
}

/**
 * A model backend. `stream` must throw a `StreamwellError` with code `upstream_auth` (bad key)
 * or `upstream_error` (anything else upstream) so that the run reports a stable code.
 */
export interface Provider {
  /** `agents`, `openai` or `demo`, or a custom name. */
  readonly name: string;
  /** The model name as configured. */
  readonly model: string;
  /** True for the built-in demo model: every UI must label its replies as a demo. */
  readonly demo?: boolean;
  /** Streams one reply. Ends after yielding `finish` or when the model stops. */
  stream(request: ProviderRequest): AsyncIterable<ProviderEvent>;
  /**
   * Optional fast path of {@link Provider.stream}: hands `onEvents` every event decoded from one
   * upstream read in one synchronous call, in order, instead of one `yield` per event (an async
   * generator step per token costs more than the token's own work). The run prefers it when
   * present, and then writes each connection once per read. Same events, same errors.
   *
   * @param request - as for `stream`
   * @param onEvents - called synchronously with each non-empty batch; a throw from it fails the
   *   reply as an `upstream_error` would
   * @returns settles when the reply ended: resolves after the last batch, rejects like `stream`
   *   would throw
   */
  streamBatches?(request: ProviderRequest, onEvents: (events: readonly ProviderEvent[]) => void): Promise<void>;
  /** Checks key, model and a real streamed round trip. */
  selfTest?(signal?: AbortSignal): Promise<readonly ProviderSelfTestStep[]>;
  /** Releases what the provider holds (a keep-alive connection pool); called on shutdown. */
  close?(): Promise<void>;
}
