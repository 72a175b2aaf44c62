/**
 * The OpenAI Agents SDK provider: runs an agent with `run(agent, input, { stream: true, signal })`
 * and maps its stream to provider events — text deltas (`raw_model_stream_event` /
 * `output_text_delta`), tool calls and results (`tool_call_item` / `tool_call_output_item`) and
 * handoffs (`handoff_output_item`).
 *
 * `@openai/agents` is an optional peer dependency, imported on first use, so the library works
 * without it. Every provider builds its own `OpenAI` client, model provider and `Runner`: no
 * global SDK state (`setDefaultOpenAIClient`), so two providers with different keys or base URLs
 * never interfere. Tracing export is off (it would send data to OpenAI on its own).
 *
 * @module
 */
import type { Agent, ModelProvider, Runner, RunStreamEvent } from '@openai/agents';
import { isStreamwellError, StreamwellError } from '../../errors/index.ts';
import type { FinishReason } from '../../protocol/index.ts';
import type { ChatMessage, Provider, ProviderEvent, ProviderRequest, ProviderSelfTestStep } from '../provider.ts';
import { markUpstreamRetryable, retryHintForNetworkError, retryHintForStatus } from '../upstream-retry.ts';
import { checkStreamedRoundTrip } from './check-streamed-round-trip.ts';
import { createUpstreamError, describeUrl, networkReason, scrubSecret } from './create-upstream-error.ts';

/** The `@openai/agents` module, as handed to an {@link AgentFactory}. */
export type AgentsModule = typeof import('@openai/agents');

/**
 * Builds the agent to run (with its tools and handoffs) from the lazily imported SDK module,
 * so that callers need no static import of `@openai/agents` either.
 */
// biome-ignore lint/suspicious/noExplicitAny: agents are generic over context and output types.
export type AgentFactory = (sdk: AgentsModule) => Agent<any, any> | Promise<Agent<any, any>>;

/**
 * Default model of the Agents SDK provider.
 *
 * @internal
 */
export const DEFAULT_AGENTS_MODEL = 'gpt-4o-mini';

/**
 * Default instructions of the built-in agent.
 *
 * @internal
 */
export const DEFAULT_AGENT_INSTRUCTIONS = 'You are a helpful assistant. Answer concisely, in Markdown when it helps.';

/** Options of {@link createAgentsProvider}. */
export interface AgentsProviderOptions {
  /** `OPENAI_API_KEY`. */
  readonly apiKey: string;
  /** `OPENAI_BASE_URL`, with the version path. @defaultValue https://api.openai.com/v1 */
  readonly baseUrl?: string | undefined;
  /** The model of agents that name none. @defaultValue {@link DEFAULT_AGENTS_MODEL} */
  readonly model?: string | undefined;
  /** Instructions of the built-in agent (ignored with `agent`). */
  readonly instructions?: string;
  /** Your own agent (tools, handoffs). @defaultValue a plain assistant with `instructions` */
  readonly agent?: AgentFactory;
  /** Which OpenAI API the model speaks. @defaultValue 'responses' */
  readonly api?: 'responses' | 'chat_completions';
  /**
   * Retries of the OpenAI client itself (on 408/409/429/5xx and connection errors, with its own
   * backoff and no regard for the run's first-token budget). 0 by default because the run
   * already retries a failure before the first byte of the answer (`maxUpstreamAttempts` of the
   * registry: 429, 502, 503, refused, reset) within the first-token budget, visibly; a non-zero
   * value multiplies the two.
   * @defaultValue 0
   */
  readonly maxRetries?: number;
  /** Most agent turns (model calls) per reply. @defaultValue 10 */
  readonly maxTurns?: number;
}

/** The provider, plus `close()`. */
export interface AgentsProvider extends Provider {
  /** Releases the SDK's cached models. */
  close(): Promise<void>;
}

interface Loaded {
  readonly sdk: AgentsModule;
  readonly runner: Runner;
  // biome-ignore lint/suspicious/noExplicitAny: see AgentFactory.
  readonly agent: Agent<any, any>;
  readonly client: import('openai').OpenAI;
  readonly modelProvider: ModelProvider & { close?: () => Promise<void> };
}

/**
 * Creates the Agents SDK provider. Nothing is imported or called until the first request.
 *
 * @param options - key, base URL, model, and optionally your own agent
 * @returns the provider
 * @throws StreamwellError `invalid_config` without an API key
 * @example
 * const provider = createAgentsProvider({
 *   apiKey: process.env.OPENAI_API_KEY!,
 *   agent: ({ Agent }) => new Agent({ name: 'Support', instructions: 'Help with billing.' }),
 * });
 */
export function createAgentsProvider(options: AgentsProviderOptions): AgentsProvider {
  if (!options.apiKey) {
    throw new StreamwellError('invalid_config', 'The Agents SDK provider needs OPENAI_API_KEY.');
  }
  const apiKey = options.apiKey;
  const baseUrl = (options.baseUrl || 'https://api.openai.com/v1').replace(/\/+$/, '');
  const model = options.model || DEFAULT_AGENTS_MODEL;
  const api = options.api ?? 'responses';
  const target = `POST ${describeUrl(`${baseUrl}/${api === 'responses' ? 'responses' : 'chat/completions'}`)}`;
  let loading: Promise<Loaded> | undefined;

  const load = (): Promise<Loaded> => {
    loading ??= loadSdk(options, { apiKey, baseUrl, model, api }).catch((error: unknown) => {
      loading = undefined;
      throw error;
    });
    return loading;
  };

  async function* stream(request: ProviderRequest): AsyncIterable<ProviderEvent> {
    const { sdk, runner, agent } = await load();
    // Our own controller, so that a consumer that stops iterating also stops the SDK's request.
    const controller = new AbortController();
    const onAbort = (): void => controller.abort(request.signal.reason);
    if (request.signal.aborted) onAbort();
    else request.signal.addEventListener('abort', onAbort, { once: true });
    let finishReason: FinishReason = 'stop';
    let completed = false;
    try {
      const result = await runner.run(agent, toInputItems(sdk, request.messages), {
        stream: true,
        signal: controller.signal,
        maxTurns: options.maxTurns ?? 10,
      });
      for await (const event of result) {
        const mapped = mapRunStreamEvent(event);
        if (mapped !== undefined) yield mapped;
        else finishReason = finishReasonOf(event) ?? finishReason;
      }
      if (!controller.signal.aborted) await result.completed;
      completed = true;
    } catch (error) {
      if (controller.signal.aborted) throw request.signal.reason ?? error;
      throw translateAgentsError(error, target, apiKey);
    } finally {
      request.signal.removeEventListener('abort', onAbort);
      if (!completed && !controller.signal.aborted) controller.abort();
    }
    // The SDK ends its stream quietly on abort: report it as the abort it is.
    if (controller.signal.aborted)
      throw request.signal.reason ?? new StreamwellError('aborted', 'The run was cancelled.');
    yield { type: 'finish', finishReason };
  }

  return {
    name: 'agents',
    model,
    stream,
    selfTest: (signal?: AbortSignal) => selfTestAgents({ load, model, baseUrl, apiKey, target, stream }, signal),
    async close() {
      if (loading === undefined) return;
      const loaded = await loading.catch(() => undefined);
      await loaded?.modelProvider.close?.();
    },
  };
}

async function loadSdk(
  options: AgentsProviderOptions,
  settings: { apiKey: string; baseUrl: string; model: string; api: 'responses' | 'chat_completions' },
): Promise<Loaded> {
  let sdk: AgentsModule;
  let openai: typeof import('openai');
  try {
    [sdk, openai] = await Promise.all([import('@openai/agents'), import('openai')]);
  } catch (error) {
    throw new StreamwellError(
      'invalid_config',
      'The Agents SDK provider needs the optional packages @openai/agents and openai: npm install @openai/agents openai',
      { cause: error },
    );
  }
  const client = new openai.OpenAI({
    apiKey: settings.apiKey,
    baseURL: settings.baseUrl,
    // The run retries (see `maxRetries`); two retry loops stacked would multiply the attempts.
    maxRetries: options.maxRetries ?? 0,
  });
  const base = new sdk.OpenAIProvider({ openAIClient: client, useResponses: settings.api === 'responses' });
  // Agents that name no model get ours, not the SDK's global default.
  const modelProvider: Loaded['modelProvider'] = {
    getModel: (name?: string) => base.getModel(name || settings.model),
    close: () => base.close(),
  };
  const runner = new sdk.Runner({ modelProvider, tracingDisabled: true });
  const agent = options.agent
    ? await options.agent(sdk)
    : new sdk.Agent({
        name: 'Assistant',
        instructions: options.instructions ?? DEFAULT_AGENT_INSTRUCTIONS,
        model: settings.model,
      });
  return { sdk, runner, agent, client, modelProvider };
}

/** The thread's history as agent input items, oldest first. */
function toInputItems(sdk: AgentsModule, messages: readonly ChatMessage[]) {
  return messages.map((message) =>
    message.role === 'user'
      ? sdk.user(message.content)
      : message.role === 'assistant'
        ? sdk.assistant(message.content)
        : sdk.system(message.content),
  );
}

/** Loose views of the SDK's item shapes: only the fields the mapping reads. */
interface RawToolCall {
  type: string;
  callId?: string;
  id?: string;
  name?: string;
  arguments?: string;
  action?: unknown;
}

function stringify(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value) ?? '';
  } catch {
    return String(value);
  }
}

/**
 * Maps one SDK stream event to a provider event.
 *
 * @param event - an event of the SDK's `StreamedRunResult`
 * @returns the provider event, or undefined for events that have no protocol counterpart
 *
 * @internal
 */
export function mapRunStreamEvent(event: RunStreamEvent): ProviderEvent | undefined {
  if (event.type === 'raw_model_stream_event') {
    const data = event.data as { type: string; delta?: string };
    if (data.type === 'output_text_delta' && typeof data.delta === 'string' && data.delta.length > 0) {
      return { type: 'text', text: data.delta };
    }
    return undefined;
  }
  if (event.type !== 'run_item_stream_event') return undefined;
  const item = event.item;
  switch (item.type) {
    case 'tool_call_item': {
      const raw = item.rawItem as RawToolCall;
      return {
        type: 'tool-call',
        callId: raw.callId ?? raw.id ?? '',
        name: raw.name ?? raw.type,
        arguments: raw.arguments ?? (raw.action === undefined ? '' : stringify(raw.action)),
      };
    }
    case 'tool_call_output_item': {
      const raw = item.rawItem as { callId?: string; id?: string };
      return { type: 'tool-result', callId: raw.callId ?? raw.id ?? '', output: stringify(item.output) };
    }
    case 'handoff_output_item':
      return { type: 'handoff', from: item.sourceAgent.name, to: item.targetAgent.name };
    default:
      return undefined;
  }
}

/** The finish reason a model turn reported (`response.incomplete` → `length`), if any. */
function finishReasonOf(event: RunStreamEvent): FinishReason | undefined {
  if (event.type !== 'raw_model_stream_event') return undefined;
  const data = event.data as {
    type: string;
    response?: { providerData?: { status?: string; incomplete_details?: { reason?: string } | null } };
  };
  if (data.type !== 'response_done') return undefined;
  const providerData = data.response?.providerData;
  if (providerData?.status !== 'incomplete') return 'stop';
  return providerData.incomplete_details?.reason === 'content_filter' ? 'content_filter' : 'length';
}

/** Finds an HTTP status on an SDK error or its causes. */
function statusOf(error: unknown): number | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    const status = (current as { status?: unknown }).status;
    if (typeof status === 'number') return status;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A response header of an OpenAI client `APIError` (a `Headers` object), if it has one. */
function headerOf(error: unknown, name: string): string | undefined {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && typeof current === 'object' && current !== null; depth += 1) {
    if ((current as { headers?: unknown }).headers !== undefined) break;
    current = (current as { cause?: unknown }).cause;
  }
  const headers = (current as { headers?: unknown } | undefined)?.headers;
  if (typeof headers !== 'object' || headers === null) return undefined;
  const get = (headers as { get?: unknown }).get;
  if (typeof get === 'function') return (get.call(headers, name) as string | null) ?? undefined;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Maps an error of the SDK (or the OpenAI client under it) to `upstream_auth` / `upstream_error`.
 *
 * @param error - what the SDK threw
 * @param target - the API endpoint, for the message
 * @param apiKey - scrubbed from the message
 * @returns the error to throw
 *
 * @internal
 */
export function translateAgentsError(error: unknown, target: string, apiKey: string): StreamwellError {
  if (isStreamwellError(error)) return error;
  const status = statusOf(error);
  const upstream = (error as { error?: { message?: unknown } } | undefined)?.error?.message;
  const message = typeof upstream === 'string' ? upstream : error instanceof Error ? error.message : String(error);
  if (status !== undefined) {
    const failure = createUpstreamError({
      target,
      status,
      upstreamMessage: message.replace(/^\d{3}\s+/, ''),
      apiKey,
      cause: error,
    });
    // The OpenAI client throws an APIError before it hands out any event of the answer.
    const hint = retryHintForStatus(status, (name) => headerOf(error, name));
    return hint === undefined ? failure : markUpstreamRetryable(failure, hint);
  }
  if ((error as { name?: unknown } | undefined)?.name === 'APIConnectionError') {
    const failure = createUpstreamError({
      target: `${target} (${networkReason(error)})`,
      upstreamMessage: message,
      apiKey,
      cause: error,
    });
    const hint = retryHintForNetworkError(error);
    return hint === undefined ? failure : markUpstreamRetryable(failure, hint);
  }
  // Errors of the agent loop itself (max turns, guardrails, model behaviour), and the OpenAI
  // client's connection errors, which the SDK wraps in a plain Error ("Connection error.").
  const kind = (error as { name?: unknown } | undefined)?.name;
  const failure = createUpstreamError({
    target: `${target} (agent run${typeof kind === 'string' ? `: ${kind}` : ''})`,
    upstreamMessage: scrubSecret(message, apiKey),
    cause: error,
  });
  // A refused or reset connection is found by its code down the cause chain. (Should a tool's own
  // request fail that way, its tool-call event was relayed first, and the run never retries then.)
  const hint = retryHintForNetworkError(error);
  return hint === undefined ? failure : markUpstreamRetryable(failure, hint);
}

interface AgentsSelfTestOptions {
  readonly load: () => Promise<Loaded>;
  readonly model: string;
  readonly baseUrl: string;
  readonly apiKey: string;
  readonly target: string;
  readonly stream: (request: ProviderRequest) => AsyncIterable<ProviderEvent>;
}

/** Key (`GET /models`), model (`GET /models/{id}`), then a real streamed agent run. */
async function selfTestAgents(
  options: AgentsSelfTestOptions,
  signal?: AbortSignal,
): Promise<readonly ProviderSelfTestStep[]> {
  let loaded: Loaded;
  try {
    loaded = await options.load();
  } catch (error) {
    const evidence = error instanceof Error ? error.message : String(error);
    return [
      { id: 'key', status: 'fail', evidence, fix: 'npm install @openai/agents openai' },
      { id: 'model', status: 'warn', evidence: 'Not checked: the SDK is not installed.' },
      { id: 'stream', status: 'warn', evidence: 'Not checked: the SDK is not installed.' },
    ];
  }
  const requestOptions = { signal: signal ?? AbortSignal.timeout(10_000), maxRetries: 0, timeout: 10_000 };
  const listTarget = `GET ${describeUrl(`${options.baseUrl}/models`)}`;
  try {
    await loaded.client.models.list(requestOptions);
  } catch (error) {
    const failure = translateAgentsError(error, listTarget, options.apiKey);
    const unreachable = statusOf(error) === undefined;
    return [
      {
        id: 'key',
        status: 'fail',
        evidence: unreachable ? `Cannot reach the OpenAI API: ${failure.message}` : failure.message,
        fix: unreachable
          ? 'Check OPENAI_BASE_URL (it includes the version path, e.g. https://api.openai.com/v1) and the network.'
          : 'Set OPENAI_API_KEY to a valid key (https://platform.openai.com/api-keys).',
      },
      { id: 'model', status: 'warn', evidence: 'Not checked: the key check failed.' },
      { id: 'stream', status: 'warn', evidence: 'Not checked: the key check failed.' },
    ];
  }
  const key: ProviderSelfTestStep = {
    id: 'key',
    status: 'pass',
    evidence: `The API accepted the key (${listTarget}).`,
  };
  let modelStep: ProviderSelfTestStep;
  try {
    await loaded.client.models.retrieve(options.model, requestOptions);
    modelStep = { id: 'model', status: 'pass', evidence: `The model ${options.model} exists and the key may use it.` };
  } catch (error) {
    const status = statusOf(error);
    modelStep =
      status === 404
        ? {
            id: 'model',
            status: 'fail',
            evidence: `The API does not know the model ${options.model} (HTTP 404).`,
            fix: 'Set LLM_MODEL (or the agent model) to a model your key can use.',
          }
        : {
            id: 'model',
            status: 'warn',
            evidence: `Could not check the model: ${translateAgentsError(error, listTarget, options.apiKey).message}`,
          };
  }
  return [key, modelStep, await checkStreamedRoundTrip(options.stream, signal)];
}
