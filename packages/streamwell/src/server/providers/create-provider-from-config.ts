/**
 * Picks the provider from configuration (the environment variables of the product brief):
 *
 * | `STREAMWELL_PROVIDER` | otherwise, when set | provider |
 * |---|---|---|
 * | `sse` | `UPSTREAM_URL` | an existing SSE backend, e.g. the guide's FastAPI endpoint (`UPSTREAM_URL`, `UPSTREAM_HEADERS`) |
 * | `openai` | `LLM_BASE_URL` | OpenAI-compatible Chat Completions (`LLM_BASE_URL`, `LLM_API_KEY`, `LLM_MODEL`) |
 * | `agents` | `OPENAI_API_KEY` | OpenAI Agents SDK (`OPENAI_API_KEY`, `OPENAI_BASE_URL`, `LLM_MODEL`) |
 * | `demo` | nothing | the built-in demo model |
 *
 * An explicit `provider` wins; without it the first row whose variable is set, top down
 * (`UPSTREAM_URL` before `LLM_BASE_URL` before `OPENAI_API_KEY`: the guide's backend shares its
 * environment, and its `OPENAI_API_KEY` is the backend's, not streamwell's).
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';
import type { Provider } from '../provider.ts';
import { type AgentFactory, createAgentsProvider, DEFAULT_AGENTS_MODEL } from './create-agents-provider.ts';
import { createDemoProvider } from './create-demo-provider.ts';
import { createOpenAICompatibleProvider, normalizeBaseUrl } from './create-openai-compatible-provider.ts';
import { createSseUpstreamProvider } from './create-sse-upstream-provider.ts';

/** The provider names `STREAMWELL_PROVIDER` accepts. */
export type ProviderKind = 'agents' | 'openai' | 'sse' | 'demo';

/** Configuration of {@link createProviderFromConfig}; every field maps to one environment variable. */
export interface ProviderConfig {
  /** `STREAMWELL_PROVIDER`: forces a provider. */
  readonly provider?: ProviderKind | undefined;
  /** `OPENAI_API_KEY`: the Agents SDK's key. */
  readonly openaiApiKey?: string | undefined;
  /** `OPENAI_BASE_URL`: the Agents SDK's API base URL, with the version path. */
  readonly openaiBaseUrl?: string | undefined;
  /** `LLM_BASE_URL`: an OpenAI-compatible server, with the version path (`http://localhost:11434/v1`). */
  readonly llmBaseUrl?: string | undefined;
  /** `LLM_API_KEY`: its key, if it needs one. */
  readonly llmApiKey?: string | undefined;
  /**
   * `LLM_MODEL`: the model. For `openai`, the first model the server lists when unset; for
   * `agents`, {@link DEFAULT_AGENTS_MODEL} when unset.
   */
  readonly llmModel?: string | undefined;
  /** `UPSTREAM_URL`: the streaming endpoint of an existing SSE backend (the `sse` provider). */
  readonly upstreamUrl?: string | undefined;
  /**
   * `UPSTREAM_HEADERS`: headers for every upstream request, as the variable's text (`Name: value`
   * lines) or already parsed.
   */
  readonly upstreamHeaders?: string | Readonly<Record<string, string>> | undefined;
  /** Your own agent for the `agents` provider (tools, handoffs). */
  readonly agent?: AgentFactory;
}

const KINDS: readonly ProviderKind[] = ['agents', 'openai', 'sse', 'demo'];

/** Treats empty and whitespace-only values as unset, as an empty `FOO=` line in an env file means. */
function present(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed === undefined || trimmed === '' ? undefined : trimmed;
}

/**
 * Decides which provider the configuration asks for, without creating it.
 *
 * @param config - the configuration
 * @returns `agents`, `openai`, `sse` or `demo`
 * @throws StreamwellError `invalid_config` for an unknown provider name
 *
 * @internal
 */
export function resolveProviderKind(config: ProviderConfig): ProviderKind {
  if (config.provider !== undefined && (config.provider as string) !== '') {
    if (!KINDS.includes(config.provider)) {
      throw new StreamwellError(
        'invalid_config',
        `STREAMWELL_PROVIDER must be one of ${KINDS.join(', ')}; got "${config.provider}".`,
      );
    }
    return config.provider;
  }
  if (present(config.upstreamUrl) !== undefined) return 'sse';
  if (present(config.llmBaseUrl) !== undefined) return 'openai';
  if (present(config.openaiApiKey) !== undefined) return 'agents';
  return 'demo';
}

/**
 * Creates the provider the configuration asks for.
 *
 * @param config - usually read from the environment (see the module table)
 * @returns the provider
 * @throws StreamwellError `invalid_config` for an impossible combination: `openai` without
 *   `LLM_BASE_URL`, `agents` without `OPENAI_API_KEY`, `sse` without `UPSTREAM_URL`, a malformed
 *   URL or `UPSTREAM_HEADERS`, an unknown provider
 * @example
 * const provider = createProviderFromConfig({
 *   provider: process.env.STREAMWELL_PROVIDER as ProviderKind | undefined,
 *   openaiApiKey: process.env.OPENAI_API_KEY,
 *   openaiBaseUrl: process.env.OPENAI_BASE_URL,
 *   llmBaseUrl: process.env.LLM_BASE_URL,
 *   llmApiKey: process.env.LLM_API_KEY,
 *   llmModel: process.env.LLM_MODEL,
 *   upstreamUrl: process.env.UPSTREAM_URL,
 *   upstreamHeaders: process.env.UPSTREAM_HEADERS,
 * });
 */
export function createProviderFromConfig(config: ProviderConfig): Provider {
  const kind = resolveProviderKind(config);
  const model = present(config.llmModel);
  if (kind === 'sse') {
    const url = present(config.upstreamUrl);
    if (url === undefined) {
      throw new StreamwellError(
        'invalid_config',
        'STREAMWELL_PROVIDER=sse needs UPSTREAM_URL, the streaming endpoint of the backend (e.g. http://127.0.0.1:8001/api/stream/message).',
      );
    }
    return createSseUpstreamProvider({ url, headers: config.upstreamHeaders });
  }
  if (kind === 'openai') {
    const baseUrl = present(config.llmBaseUrl);
    if (baseUrl === undefined) {
      throw new StreamwellError(
        'invalid_config',
        'STREAMWELL_PROVIDER=openai needs LLM_BASE_URL, the server URL with its version path (e.g. http://localhost:11434/v1).',
      );
    }
    return createOpenAICompatibleProvider({ baseUrl, apiKey: present(config.llmApiKey), model });
  }
  if (kind === 'agents') {
    const apiKey = present(config.openaiApiKey);
    if (apiKey === undefined) {
      throw new StreamwellError('invalid_config', 'STREAMWELL_PROVIDER=agents needs OPENAI_API_KEY.');
    }
    const baseUrl = present(config.openaiBaseUrl);
    return createAgentsProvider({
      apiKey,
      baseUrl: baseUrl === undefined ? undefined : normalizeBaseUrl(baseUrl, 'OPENAI_BASE_URL'),
      model: model ?? DEFAULT_AGENTS_MODEL,
      ...(config.agent === undefined ? {} : { agent: config.agent }),
    });
  }
  return createDemoProvider();
}
