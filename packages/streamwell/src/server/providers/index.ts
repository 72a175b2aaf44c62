/**
 * Model providers beyond the demo: the OpenAI Agents SDK, any OpenAI-compatible Chat
 * Completions server, and the choice between them from configuration. Barrel only.
 *
 * @module
 */
export * from './check-streamed-round-trip.ts';
export * from './create-agents-provider.ts';
export * from './create-openai-compatible-provider.ts';
export * from './create-provider-from-config.ts';
export { createUpstreamError, type UpstreamFailure, upstreamStatusOf } from './create-upstream-error.ts';
