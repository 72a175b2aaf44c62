/**
 * Model providers beyond the demo: the OpenAI Agents SDK, any OpenAI-compatible Chat
 * Completions server, an existing SSE backend (`sse`), and the choice between them from
 * configuration. Barrel only.
 *
 * @module
 */
export * from './check-streamed-round-trip.ts';
export * from './create-agents-provider.ts';
export * from './create-openai-compatible-provider.ts';
export * from './create-provider-from-config.ts';
export * from './create-sse-upstream-provider.ts';
export { createUpstreamError, type UpstreamFailure, upstreamStatusOf } from './create-upstream-error.ts';
export { parseUpstreamHeaders } from './parse-upstream-headers.ts';
export type { UpstreamHttpOptions } from './upstream-batch-handler.ts';
