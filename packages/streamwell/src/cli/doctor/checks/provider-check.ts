/**
 * The provider self-test (`streamwell doctor --provider`), the guide's "Agent SDK not streaming":
 * builds the provider exactly as the server would, from the environment, and runs its
 * `selfTest()`: the key is present and accepted, the model exists, and a real reply streams.
 *
 * @module
 */
import { type CheckResult, createCheckResult } from '../../../client/diagnose/check-result.ts';
import type { Provider, ProviderSelfTestStep } from '../../../server/provider.ts';
import { createProviderFromConfig, type ProviderKind } from '../../../server/providers/create-provider-from-config.ts';

/** Inputs of {@link runProviderCheck}. */
export interface ProviderCheckOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly timeoutMs: number;
  /** Builds the provider; by default the server's own `createProviderFromConfig`. */
  readonly createProvider?: (env: Readonly<Record<string, string | undefined>>) => Provider | Promise<Provider>;
}

const TITLES: Readonly<Record<ProviderSelfTestStep['id'], string>> = {
  key: 'Provider API key present and accepted',
  model: 'Provider model exists',
  stream: 'Provider streams a real reply',
};

/** The server's own choice of provider, from the same environment variables. */
function defaultCreateProvider(env: Readonly<Record<string, string | undefined>>): Provider {
  return createProviderFromConfig({
    provider: env.STREAMWELL_PROVIDER as ProviderKind | undefined,
    openaiApiKey: env.OPENAI_API_KEY,
    openaiBaseUrl: env.OPENAI_BASE_URL,
    llmBaseUrl: env.LLM_BASE_URL,
    llmApiKey: env.LLM_API_KEY,
    llmModel: env.LLM_MODEL,
    upstreamUrl: env.UPSTREAM_URL,
    upstreamHeaders: env.UPSTREAM_HEADERS,
  });
}

/**
 * Runs the self-test and maps each step to a check (`provider-key`, `provider-model`, `provider-stream`).
 *
 * @param options - environment and time limit
 * @returns the checks
 */
export async function runProviderCheck(options: ProviderCheckOptions): Promise<CheckResult[]> {
  let provider: Provider;
  try {
    provider = await (options.createProvider ?? defaultCreateProvider)(options.env);
  } catch (error) {
    return [
      createCheckResult(
        'provider',
        'Provider configuration',
        'fail',
        `The provider could not be built from the environment: ${error instanceof Error ? error.message : String(error)}`,
        'Fix the variable named above (see docs/configuration.md): STREAMWELL_PROVIDER, OPENAI_API_KEY, LLM_BASE_URL, LLM_API_KEY, LLM_MODEL, UPSTREAM_URL, UPSTREAM_HEADERS.',
      ),
    ];
  }
  const label = `${provider.name} provider, model ${provider.model}${provider.demo === true ? ' (the built-in demo model)' : ''}`;
  if (provider.selfTest === undefined) {
    return [
      createCheckResult(
        'provider',
        'Provider self-test',
        'warn',
        `The ${label} has no self-test, so key, model and streaming were not checked.`,
        'Implement Provider.selfTest() for custom providers.',
      ),
    ];
  }
  let steps: readonly ProviderSelfTestStep[];
  try {
    steps = await provider.selfTest(AbortSignal.timeout(options.timeoutMs));
  } catch (error) {
    return [
      createCheckResult(
        'provider',
        'Provider self-test',
        'fail',
        `The self-test of the ${label} threw: ${error instanceof Error ? error.message : String(error)}`,
        'Check the provider settings and that the model server is reachable from this machine.',
      ),
    ];
  }
  return steps.map((step) =>
    createCheckResult(
      `provider-${step.id}`,
      TITLES[step.id],
      step.status,
      `${label}: ${step.evidence}`,
      step.fix ?? '',
    ),
  );
}
