/**
 * The built-in demo model: used when no provider is configured, so that `npm start` works with
 * no API key. It is labelled as a demo everywhere (`start.demo = true`).
 *
 * @module
 */
import type { Provider, ProviderEvent, ProviderRequest } from '../provider.ts';

/** Options of {@link createDemoProvider}. */
export interface DemoProviderOptions {
  /** Delay between tokens. @defaultValue 30 */
  readonly tokenIntervalMs?: number;
  /** Delay before the first token. @defaultValue 150 */
  readonly firstTokenDelayMs?: number;
  /** Produces the reply text; by default a short markdown answer that echoes the message. */
  readonly reply?: (message: string, turn: number) => string;
}

const DEFAULT_REPLY = (message: string, turn: number): string => {
  const quoted = message.length > 120 ? `${message.slice(0, 117)}...` : message;
  return [
    `**Demo model** (no API key is configured), reply ${turn} in this thread.`,
    '',
    `You said: "${quoted}"`,
    '',
    'streamwell streams this reply token by token. Each event carries an id, so if your connection drops the page resumes from the last id it saw, without sending your message again. Try it:',
    '',
    '1. press **Stop** while this is streaming: the run stops on the server too;',
    '2. reload the page mid-reply: it picks up where it left off;',
    '3. open the latency panel to see time to first token and the gaps between tokens.',
    '',
    'Set `OPENAI_API_KEY` (Agents SDK) or `LLM_BASE_URL` (any OpenAI-compatible server such as Ollama or vLLM) to talk to a real model.',
  ].join('\n');
};

/** Splits text into word-sized tokens that keep their leading spaces, like a real tokenizer. */
function tokenize(text: string): string[] {
  return text.match(/\s*\S+|\s+/g) ?? [];
}

function sleep(milliseconds: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) {
      reject(signal.reason);
      return;
    }
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, milliseconds);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Creates the demo provider.
 *
 * @param options - pacing and reply text
 * @returns a {@link Provider} with `demo: true`
 */
export function createDemoProvider(options: DemoProviderOptions = {}): Provider {
  const tokenIntervalMs = options.tokenIntervalMs ?? 30;
  const firstTokenDelayMs = options.firstTokenDelayMs ?? 150;
  const reply = options.reply ?? DEFAULT_REPLY;
  return {
    name: 'demo',
    model: 'streamwell-demo',
    demo: true,
    async *stream(request: ProviderRequest): AsyncIterable<ProviderEvent> {
      const last = request.messages[request.messages.length - 1];
      const turn = request.messages.filter((message) => message.role === 'user').length;
      const tokens = tokenize(reply(last?.content ?? '', turn));
      await sleep(firstTokenDelayMs, request.signal);
      for (let index = 0; index < tokens.length; index += 1) {
        if (index > 0 && tokenIntervalMs > 0) await sleep(tokenIntervalMs, request.signal);
        yield { type: 'text', text: tokens[index] as string };
      }
      yield { type: 'finish', finishReason: 'stop' };
    },
    async selfTest() {
      return [
        {
          id: 'key',
          status: 'warn',
          evidence: 'No provider is configured: the built-in demo model answers.',
          fix: 'Set OPENAI_API_KEY or LLM_BASE_URL.',
        },
        { id: 'model', status: 'pass', evidence: 'streamwell-demo is built in.' },
        { id: 'stream', status: 'pass', evidence: 'The demo model streams locally.' },
      ];
    },
  };
}
