/**
 * How the load generator addresses a gateway: the OpenAI wire (direct to the mock, or through a
 * plain proxy such as nginx) or the product-style `POST /api/stream/message {"message"}` that
 * every relay under test exposes.
 *
 * @module
 */
import type { SseRequest } from './loadgen-sse-connection.ts';

/** Where and how to start a stream. */
export interface Target {
  readonly port: number;
  /** `openai`: Chat Completions body; `app`: `{"message": prompt}`. */
  readonly wire: 'openai' | 'app';
  /** Request path. */
  readonly path: string;
}

/** The request that starts one stream with `prompt`. */
export function startRequest(target: Target, prompt: string): SseRequest {
  const body =
    target.wire === 'openai'
      ? JSON.stringify({ model: 'bench', stream: true, messages: [{ role: 'user', content: prompt }] })
      : JSON.stringify({ message: prompt });
  return { port: target.port, method: 'POST', path: target.path, body };
}
