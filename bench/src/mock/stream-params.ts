/**
 * The shape of one mocked reply, carried inside the user message so that it passes untouched
 * through every gateway under test (each one forwards the prompt, none forwards query strings):
 * `bench n=300 rate=30 ttft=0 pad=0 frag=0 batch=1`.
 *
 * @module
 */

/** How the mock upstream streams one reply. */
export interface StreamParams {
  /** Content tokens to send. */
  readonly tokens: number;
  /** Tokens per second; 0 sends as fast as the socket takes them. */
  readonly rate: number;
  /** Delay before the first token, ms (the model "thinking"). */
  readonly ttftMs: number;
  /** Extra bytes of padding per token (bigger deltas). */
  readonly pad: number;
  /** Split every write into fragments of this many bytes, one fragment per event-loop turn; 0 = whole events. */
  readonly fragment: number;
  /**
   * Events per write when unthrottled (rate 0); 0 floods: writes follow each other until the
   * socket pushes back (many events per gateway read).
   */
  readonly batch: number;
}

/** Defaults: a 300-token reply at 30 tokens/s with no thinking delay. */
export const DEFAULT_PARAMS: StreamParams = { tokens: 300, rate: 30, ttftMs: 0, pad: 0, fragment: 0, batch: 1 };

const KEYS: Record<string, keyof StreamParams> = {
  n: 'tokens',
  rate: 'rate',
  ttft: 'ttftMs',
  pad: 'pad',
  frag: 'fragment',
  batch: 'batch',
};

/** Encodes parameters as the prompt text. */
export function formatParams(params: Partial<StreamParams>): string {
  const full = { ...DEFAULT_PARAMS, ...params };
  return `bench n=${full.tokens} rate=${full.rate} ttft=${full.ttftMs} pad=${full.pad} frag=${full.fragment} batch=${full.batch}`;
}

/** Reads parameters from the prompt text; unknown words are ignored, missing keys take defaults. */
export function parseParams(text: string): StreamParams {
  const params: Record<string, number> = { ...DEFAULT_PARAMS };
  for (const match of text.matchAll(/\b(n|rate|ttft|pad|frag|batch)=(\d+(?:\.\d+)?)/g)) {
    const key = KEYS[match[1] as string];
    if (key) params[key] = Number(match[2]);
  }
  return params as unknown as StreamParams;
}
