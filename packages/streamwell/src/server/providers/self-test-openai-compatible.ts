/**
 * Self-test of the OpenAI-compatible provider: is the key accepted, does the model exist, and
 * does a real streamed round trip work (`streamwell doctor --provider`).
 *
 * @module
 */
import type { Dispatcher } from 'undici';
import { isStreamwellError } from '../../errors/index.ts';
import type { ProviderEvent, ProviderRequest, ProviderSelfTestStep } from '../provider.ts';
import { checkStreamedRoundTrip } from './check-streamed-round-trip.ts';
import { upstreamStatusOf } from './create-upstream-error.ts';
import { listModels } from './list-models.ts';

/**
 * What the self-test needs from the provider.
 *
 * @internal
 */
export interface OpenAICompatibleSelfTestOptions {
  readonly baseUrl: string;
  readonly apiKey: string | undefined;
  /** The configured model, if any. */
  readonly model: string | undefined;
  readonly headers: Record<string, string>;
  readonly dispatcher: Dispatcher;
  readonly stream: (request: ProviderRequest) => AsyncIterable<ProviderEvent>;
}

const MODEL_LIST_SHOWN = 8;

/**
 * Runs the three steps. Later steps still run after a failed one when they can tell something
 * new (a missing model list does not stop the round trip); a rejected key or an unreachable
 * server skips them.
 *
 * @param options - the provider's settings
 * @param signal - aborts the test
 * @returns the `key`, `model` and `stream` steps
 *
 * @internal
 */
export async function selfTestOpenAICompatible(
  options: OpenAICompatibleSelfTestOptions,
  signal?: AbortSignal,
): Promise<readonly ProviderSelfTestStep[]> {
  const listSignal =
    signal === undefined ? AbortSignal.timeout(10_000) : AbortSignal.any([signal, AbortSignal.timeout(10_000)]);
  let models: string[] | undefined;
  let listError: unknown;
  try {
    models = await listModels({ ...options, signal: listSignal });
  } catch (error) {
    listError = error;
  }
  const status = isStreamwellError(listError) ? listError.code : undefined;
  const message = listError instanceof Error ? listError.message : String(listError);
  if (status === 'upstream_auth') {
    return [
      { id: 'key', status: 'fail', evidence: message, fix: 'Set LLM_API_KEY to a key this server accepts.' },
      skipped('model', 'the key was rejected'),
      skipped('stream', 'the key was rejected'),
    ];
  }
  // No HTTP status at all: the request never got an answer (refused, DNS, TLS, reset).
  if (listError !== undefined && upstreamStatusOf(listError) === undefined) {
    return [
      {
        id: 'key',
        status: 'fail',
        evidence: `Cannot reach the model server: ${message}`,
        fix: 'Start the model server, or fix LLM_BASE_URL (it includes the version path, e.g. http://localhost:11434/v1).',
      },
      skipped('model', 'the server is unreachable'),
      skipped('stream', 'the server is unreachable'),
    ];
  }
  let key: ProviderSelfTestStep;
  if (listError !== undefined) {
    // The server answered, but not with a model list: the key is not known to be good or bad.
    key = {
      id: 'key',
      status: 'warn',
      evidence: `Could not check the key: ${message}`,
      ...(upstreamStatusOf(listError) === 404
        ? {
            fix: 'LLM_BASE_URL must include the version path, e.g. http://localhost:11434/v1 (not http://localhost:11434).',
          }
        : {}),
    };
  } else if (options.apiKey === undefined) {
    key = { id: 'key', status: 'pass', evidence: 'No LLM_API_KEY is set and the server does not ask for one.' };
  } else {
    key = { id: 'key', status: 'pass', evidence: `The server accepted the key (GET ${options.baseUrl}/models).` };
  }
  return [key, modelStep(options.model, models, message), await checkStreamedRoundTrip(options.stream, signal)];
}

function modelStep(
  configured: string | undefined,
  models: string[] | undefined,
  listMessage: string,
): ProviderSelfTestStep {
  if (models === undefined) {
    return {
      id: 'model',
      status: 'warn',
      evidence: `Could not list the server's models (${listMessage}); the round trip below shows whether the model works.`,
    };
  }
  const shown = models.slice(0, MODEL_LIST_SHOWN).join(', ') + (models.length > MODEL_LIST_SHOWN ? ', ...' : '');
  if (configured === undefined) {
    return models.length === 0
      ? {
          id: 'model',
          status: 'fail',
          evidence: 'LLM_MODEL is not set and the server lists no models.',
          fix: 'Set LLM_MODEL.',
        }
      : {
          id: 'model',
          status: 'warn',
          evidence: `LLM_MODEL is not set; using the first model the server lists: ${models[0]} (of ${shown}).`,
          fix: 'Set LLM_MODEL to choose the model explicitly.',
        };
  }
  if (models.includes(configured)) {
    return { id: 'model', status: 'pass', evidence: `The server lists the model ${configured}.` };
  }
  return {
    id: 'model',
    status: 'fail',
    evidence: `The server does not list the model ${configured}; it lists ${models.length === 0 ? 'none' : shown}.`,
    fix: `Set LLM_MODEL to one of the listed models (for Ollama: \`ollama pull ${configured}\`).`,
  };
}

function skipped(id: ProviderSelfTestStep['id'], reason: string): ProviderSelfTestStep {
  return { id, status: 'warn', evidence: `Not checked: ${reason}.` };
}
