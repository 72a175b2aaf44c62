import { describe, expect, it } from 'vitest';
import type { ProviderEvent } from '../provider.ts';
import { createSseUpstreamDecoder, readUpstreamEvent } from './create-sse-upstream-decoder.ts';

const target = 'POST http://127.0.0.1:8001/api/stream/message';
const encoder = new TextEncoder();

/** The guide's generator, frame for frame: Python's json.dumps escapes non-ASCII as \uXXXX. */
function guideFrames(tokens: readonly string[], eol = '\n'): string {
  let body = '';
  tokens.forEach((token, index) => {
    body += `data: ${pythonJson({ token })}${eol}${eol}`;
    if ((index + 1) % 2 === 0) body += `data: ${pythonJson({ type: 'checkpoint', tokens: index + 1 })}${eol}${eol}`;
  });
  return body;
}

function pythonJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/[\u0080-\uffff]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`)
    .replace(/","/g, '", "')
    .replace(/":/g, '": ');
}

function decodeAll(chunks: readonly Uint8Array[], options: { maxEventBytes?: number; secrets?: string[] } = {}) {
  const decoder = createSseUpstreamDecoder({ target, maxEventBytes: options.maxEventBytes ?? 1024, ...options });
  const events: ProviderEvent[] = [];
  let error: unknown;
  try {
    for (const chunk of chunks) decoder.push(chunk, events);
    decoder.end(events);
  } catch (caught) {
    error = caught;
  }
  return { events, error: error as { code?: string; message: string } | undefined, decoder };
}

const text = (events: readonly ProviderEvent[]): string =>
  events.map((event) => (event.type === 'text' ? event.text : '')).join('');

const TOKENS = ['Héllo', ' wörld', ' 😀', ' "quoted"', ' back\\slash', '\n\nnew paragraph', ' 日本語'];

describe('sse upstream decoder', () => {
  it("turns the guide's frames into tokens, skips its checkpoints and ends with stop", () => {
    const { events, error } = decodeAll([encoder.encode(guideFrames(TOKENS))]);
    expect(error).toBeUndefined();
    expect(events).toEqual([
      ...TOKENS.map((token) => ({ type: 'text', text: token })),
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it.each([
    ['LF', '\n'],
    ['CRLF', '\r\n'],
    ['CR', '\r'],
  ])('reads %s line endings, split at every byte', (_name, eol) => {
    const bytes = encoder.encode(`: comment\n${guideFrames(TOKENS, eol)}`);
    for (let cut = 1; cut < bytes.length; cut += 1) {
      const { events, error } = decodeAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect(error).toBeUndefined();
      expect(text(events)).toBe(TOKENS.join(''));
    }
    const oneByOne = decodeAll([...bytes].map((byte) => Uint8Array.of(byte)));
    expect(text(oneByOne.events)).toBe(TOKENS.join(''));
  });

  it('takes raw UTF-8 in the JSON as well as \\u escapes', () => {
    const body = TOKENS.map((token) => `data: ${JSON.stringify({ token })}\n\n`).join('');
    const bytes = encoder.encode(body);
    const { events } = decodeAll([...bytes].map((byte) => Uint8Array.of(byte)));
    expect(text(events)).toBe(TOKENS.join(''));
  });

  it('reads the guide\'s short form {"t"}, named events, ids, retry and comments', () => {
    const body = [
      'retry: 1000\n',
      ': keep-alive\n\n',
      'event: start\ndata: {"streamId": "up-1"}\n\n',
      'data: {"t": "one"}\n\n',
      'id: 7\nevent: token\ndata: {"token": " two"}\n\n',
      'event: checkpoint\ndata: {"tokens": 2}\n\n',
      'data: {"t": ""}\n\n',
      'data: {"meta": true}\n\n',
      'data:\n\n',
    ].join('');
    const { events, error } = decodeAll([encoder.encode(body)]);
    expect(error).toBeUndefined();
    expect(events).toEqual([
      { type: 'text', text: 'one' },
      { type: 'text', text: ' two' },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('ends at [DONE] or a streamwell `done` event and ignores what follows', () => {
    const done = decodeAll([encoder.encode('data: {"t":"a"}\n\ndata: [DONE]\n\ndata: {"t":"late"}\n\n')]);
    expect(done.events).toEqual([
      { type: 'text', text: 'a' },
      { type: 'finish', finishReason: 'stop' },
    ]);
    const named = decodeAll([encoder.encode('event: done\ndata: {"finishReason":"length","tokens":1}\n\n')]);
    expect(named.events).toEqual([{ type: 'finish', finishReason: 'length' }]);
    expect(named.decoder.finished).toBe(true);
  });

  it('fails with upstream_error on {"error"}, after the tokens before it', () => {
    const body = `data: {"token": "partial"}\n\ndata: ${pythonJson({ error: 'Response timeout' })}\n\n`;
    const { events, error } = decodeAll([encoder.encode(body)]);
    expect(events).toEqual([{ type: 'text', text: 'partial' }]);
    expect(error?.code).toBe('upstream_error');
    expect(error?.message).toBe(`The upstream (${target}) reported an error after 1 tokens: Response timeout`);
  });

  it('fails on an `error` event, an error object, and data that is not JSON', () => {
    expect(decodeAll([encoder.encode('event: error\ndata: boom\n\n')]).error?.message).toMatch(/error.*boom/);
    const streamwellError = decodeAll([
      encoder.encode('event: error\ndata: {"error":"slow","code":"idle_timeout"}\n\n'),
    ]);
    expect(streamwellError.error?.message).toMatch(/slow \(code idle_timeout\)$/);
    expect(decodeAll([encoder.encode('data: {"error":{"message":"quota"}}\n\n')]).error?.message).toMatch(/quota$/);
    const notJson = decodeAll([encoder.encode('data: Hello world\n\n')]);
    expect(notJson.error?.code).toBe('upstream_error');
    expect(notJson.error?.message).toMatch(/data that is not JSON: "Hello world"/);
  });

  it('bounds a line and an event', () => {
    const long = decodeAll([encoder.encode(`data: {"token": "${'x'.repeat(2000)}"}\n\n`)], { maxEventBytes: 1024 });
    expect(long.error?.code).toBe('upstream_error');
    expect(long.error?.message).toMatch(/longer than 1024 characters/);
    const endless = decodeAll([encoder.encode(`data: {"token": "${'x'.repeat(600)}`), encoder.encode('x'.repeat(600))]);
    expect(endless.error?.code).toBe('upstream_error');
  });

  it('keeps credentials out of the messages', () => {
    const body = 'data: {"error": "401 for key hdr-secret-123 and Bearer sk-abcdef"}\n\n';
    const { error } = decodeAll([encoder.encode(body)], { secrets: ['hdr-secret-123'] });
    expect(error?.message).not.toMatch(/hdr-secret-123|sk-abcdef/);
  });
});

describe('readUpstreamEvent', () => {
  it.each([
    ['message', '{"token": "a"}', { kind: 'token', text: 'a', field: 'token' }],
    ['message', '{"t": "b"}', { kind: 'token', text: 'b', field: 't' }],
    ['message', '{"type": "checkpoint", "tokens": 50}', { kind: 'skip', reason: 'checkpoint' }],
    ['message', '{"error": "Response timeout"}', { kind: 'error', message: 'Response timeout' }],
    ['message', '{"error": null, "token": "c"}', { kind: 'token', text: 'c', field: 'token' }],
    ['message', '[DONE]', { kind: 'end', finishReason: 'stop' }],
    ['message', '42', { kind: 'skip', reason: 'other' }],
    ['done', '', { kind: 'end', finishReason: 'stop' }],
    ['message', '{token: 1}', { kind: 'invalid', reason: 'data that is not JSON: "{token: 1}"' }],
  ])('%s %s', (name, data, meaning) => {
    expect(readUpstreamEvent(name, data)).toEqual(meaning);
  });
});
