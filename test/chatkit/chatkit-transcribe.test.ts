/**
 * ChatKit dictation on the reference server: with `TRANSCRIBE_MODEL`, `input.transcribe` goes to
 * the OpenAI-compatible `POST {base}/audio/transcriptions` (a local fake here) as multipart; an
 * upstream failure is a JSON error without the key; without it, a clear 501; and a model with
 * nowhere to send audio is a configuration error at start.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../apps/server/src/config.ts';
import { startTestServer, type TestServer } from '../server/helpers/test-server.ts';
import { callChatKit } from './helpers/chatkit-client.ts';

const KEY = 'sk-transcribe-test-key-0123456789';

interface Received {
  readonly path: string;
  readonly headers: IncomingHttpHeaders;
  readonly form: FormData;
}

async function startFakeTranscriptions(
  status: number,
): Promise<{ baseUrl: string; received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      void new Response(body, { headers: { 'content-type': request.headers['content-type'] ?? '' } })
        .formData()
        .then((form) => {
          received.push({ path: request.url ?? '', headers: request.headers, form });
          const answer =
            status === 200
              ? { text: 'hello from the microphone' }
              : { error: { message: `bad key ${KEY}`, type: 'invalid_request_error' } };
          response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

describe('ChatKit dictation', () => {
  let server: TestServer | undefined;
  let fake: Awaited<ReturnType<typeof startFakeTranscriptions>> | undefined;
  afterEach(async () => {
    await server?.close();
    await fake?.close();
    server = undefined;
    fake = undefined;
  });

  const transcribe = (url: string) =>
    callChatKit(`${url}/chatkit`, {
      type: 'input.transcribe',
      params: { audio_base64: Buffer.from('OggS audio bytes').toString('base64'), mime_type: 'audio/ogg;codecs=opus' },
    });

  it('sends the audio and the model as multipart to /audio/transcriptions and answers {text}', async () => {
    fake = await startFakeTranscriptions(200);
    server = await startTestServer({
      config: { llmBaseUrl: fake.baseUrl, llmApiKey: KEY, transcribeModel: 'whisper-1' },
    });
    const answer = await transcribe(server.url);
    expect(answer).toMatchObject({ status: 200, json: { text: 'hello from the microphone' } });
    const [request] = fake.received;
    expect(request?.path).toBe('/v1/audio/transcriptions');
    expect(request?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(request?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(request?.form.get('model')).toBe('whisper-1');
    const file = request?.form.get('file') as File;
    expect(file.name).toBe('audio.ogg');
    expect(file.type).toBe('audio/ogg');
    expect(Buffer.from(await file.arrayBuffer()).toString()).toBe('OggS audio bytes');
  });

  it('answers an upstream refusal as upstream_auth without the key', async () => {
    fake = await startFakeTranscriptions(401);
    server = await startTestServer({
      config: { llmBaseUrl: fake.baseUrl, llmApiKey: KEY, transcribeModel: 'whisper-1' },
    });
    const answer = await transcribe(server.url);
    expect(answer.status).toBe(502);
    expect(answer.json.error.code).toBe('upstream_auth');
    expect(JSON.stringify(answer.json)).not.toContain(KEY);
  });

  it('without TRANSCRIBE_MODEL is a 501 that says how to turn it on; with nowhere to send audio, the server does not start', async () => {
    server = await startTestServer({ captureLogs: true, config: { logLevel: 'info' } });
    const answer = await transcribe(server.url);
    expect(answer.status).toBe(501);
    expect(answer.json.error).toEqual({
      code: 'not_implemented',
      message: expect.stringContaining('TRANSCRIBE_MODEL'),
    });
    // Any client can ask for it: a refusal, not a server failure (no error-level line with a
    // stack; the hostile-input fuzz suite found it logged as one).
    expect(server.logs.filter((line) => Number(line.level) >= 50)).toEqual([]);
    expect(() => loadConfig({ TRANSCRIBE_MODEL: 'whisper-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ TRANSCRIBE_MODEL: 'whisper-1' })).toThrow(/TRANSCRIBE_MODEL/);
    expect(loadConfig({ TRANSCRIBE_MODEL: 'whisper-1', OPENAI_API_KEY: KEY }).transcribeModel).toBe('whisper-1');
  });
});
