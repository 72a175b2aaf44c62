/**
 * ChatKit dictation through an OpenAI-compatible `POST {baseUrl}/audio/transcriptions`
 * (multipart: the audio as `file`, the `model`), answering `{text}`.
 *
 * @module
 */
import { createUpstreamError, describeUrl } from '../providers/create-upstream-error.ts';
import type { ChatKitTranscriber } from './chatkit-hooks.ts';

/** Options of {@link createOpenAITranscriber}. */
export interface OpenAITranscriberOptions {
  /** The API base with its version path, e.g. `https://api.openai.com/v1`. */
  readonly baseUrl: string;
  readonly apiKey?: string | undefined;
  /** e.g. `gpt-4o-mini-transcribe`, `whisper-1`. */
  readonly model: string;
  /** @defaultValue the global `fetch` */
  readonly fetch?: typeof fetch;
  /** @defaultValue 60000 */
  readonly timeoutMs?: number;
}

/** File names by audio type: the endpoint reads the format from the name's extension. */
function fileName(mimeType: string): string {
  const type = mimeType.split(';', 1)[0]?.trim().toLowerCase() ?? '';
  const extension =
    { 'audio/webm': 'webm', 'audio/mp4': 'mp4', 'audio/ogg': 'ogg', 'audio/mpeg': 'mp3', 'audio/wav': 'wav' }[type] ??
    'webm';
  return `audio.${extension}`;
}

/**
 * Creates the transcriber.
 *
 * @param options - where, which model, the key
 * @returns the transcriber, for `createChatKitHandler({ transcribe })`
 * @example
 * const transcribe = createOpenAITranscriber({ baseUrl: 'https://api.openai.com/v1', apiKey, model: 'gpt-4o-mini-transcribe' });
 */
export function createOpenAITranscriber(options: OpenAITranscriberOptions): ChatKitTranscriber {
  const url = `${options.baseUrl.replace(/\/+$/, '')}/audio/transcriptions`;
  const target = `POST ${describeUrl(url)}`;
  const request = options.fetch ?? fetch;
  return async (audio) => {
    const form = new FormData();
    const type = audio.mimeType.split(';', 1)[0]?.trim() ?? 'audio/webm';
    form.set('file', new Blob([audio.data as Uint8Array<ArrayBuffer>], { type }), fileName(audio.mimeType));
    form.set('model', options.model);
    let response: Response;
    try {
      response = await request(url, {
        method: 'POST',
        headers: options.apiKey === undefined ? {} : { Authorization: `Bearer ${options.apiKey}` },
        body: form,
        signal: AbortSignal.timeout(options.timeoutMs ?? 60_000),
      });
    } catch (error) {
      throw createUpstreamError({ target, apiKey: options.apiKey, cause: error });
    }
    const body = (await response.json().catch(() => undefined)) as
      | { text?: unknown; error?: { message?: unknown } }
      | undefined;
    if (!response.ok || typeof body?.text !== 'string') {
      const message = body?.error?.message;
      throw createUpstreamError({
        target,
        status: response.ok ? undefined : response.status,
        upstreamMessage: typeof message === 'string' ? message : response.ok ? 'the answer has no text' : undefined,
        apiKey: options.apiKey,
      });
    }
    return { text: body.text };
  };
}
