import { describe, expect, it } from 'vitest';
import type { ProviderEvent } from '../provider.ts';
import { createChatCompletionDecoder, mapChatFinishReason } from './create-chat-completion-decoder.ts';

const TARGET = 'POST http://127.0.0.1:1/v1/chat/completions';
const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  JSON.stringify({ id: 'c', object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish }] });

function decode(payloads: readonly string[], end = false): ProviderEvent[] {
  const decoder = createChatCompletionDecoder(TARGET);
  const out: ProviderEvent[] = [];
  for (const payload of payloads) if (decoder.push(payload, out)) break;
  if (end) decoder.end(out);
  return out;
}

describe('createChatCompletionDecoder', () => {
  it('yields content deltas and the finish reason at [DONE]', () => {
    expect(
      decode([chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hi' }), chunk({}, 'stop'), '[DONE]']),
    ).toEqual([
      { type: 'text', text: 'Hi' },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('skips null content and the usage chunk with empty choices', () => {
    const usage = JSON.stringify({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    expect(decode([chunk({ content: null }), chunk({ content: 'x' }, 'length'), usage, '[DONE]'])).toEqual([
      { type: 'text', text: 'x' },
      { type: 'finish', finishReason: 'length' },
    ]);
  });

  it('accepts a stream that ends after a finish reason without [DONE]', () => {
    expect(decode([chunk({ content: 'x' }, 'stop')], true)).toEqual([
      { type: 'text', text: 'x' },
      { type: 'finish', finishReason: 'stop' },
    ]);
  });

  it('fails a stream that ends before any finish', () => {
    expect(() => decode([chunk({ content: 'x' })], true)).toThrow(expect.objectContaining({ code: 'upstream_error' }));
  });

  it('assembles tool calls from pieces, by index', () => {
    const events = decode([
      chunk({ tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { name: 'weather', arguments: '{"ci' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_2', function: { name: 'now', arguments: '{}' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Oslo"}' } }] }),
      chunk({}, 'tool_calls'),
      '[DONE]',
    ]);
    expect(events).toEqual([
      { type: 'tool-call', callId: 'call_1', name: 'get_weather', arguments: '{"city":"Oslo"}' },
      { type: 'tool-call', callId: 'call_2', name: 'now', arguments: '{}' },
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
  });

  it('turns an error payload into upstream_error with its message', () => {
    expect(() => decode([JSON.stringify({ error: { message: 'overloaded' } })])).toThrow(/overloaded/);
  });

  it('turns a chunk that is not JSON into upstream_error', () => {
    expect(() => decode(['{"choices":['])).toThrow(expect.objectContaining({ code: 'upstream_error' }));
  });

  it('ignores everything after [DONE]', () => {
    expect(decode(['[DONE]', chunk({ content: 'late' })])).toEqual([{ type: 'finish', finishReason: 'stop' }]);
  });
});

/** What the decoder must give for each payload: `JSON.parse` of each, read as the decoder reads it. */
function reference(payloads: readonly string[]): ProviderEvent[] {
  const out: ProviderEvent[] = [];
  for (const payload of payloads) {
    const content = (JSON.parse(payload) as { choices?: { delta?: { content?: unknown } }[] }).choices?.[0]?.delta
      ?.content;
    if (typeof content === 'string' && content.length > 0) out.push({ type: 'text', text: content });
  }
  return out;
}

describe('createChatCompletionDecoder, chunks read by their learned template', () => {
  const openai = (content: string) =>
    `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"m","system_fingerprint":"fp","choices":[{"index":0,"delta":{"content":${JSON.stringify(content)}},"logprobs":null,"finish_reason":null}]}`;
  const texts = [
    'Hello',
    ' world',
    ' "quoted"',
    ' back\\slash',
    ' line\nbreak',
    ' tab\t',
    ' é',
    ' 😀',
    ' \ud800 lone',
    ' ~',
    ' x',
    '}',
    '"},"x":1',
    ' ',
  ];

  it('decodes every chunk as JSON.parse does: plain text by the template, escapes and surrogates by the parser', () => {
    const payloads = texts.flatMap((text) => [openai(text), openai(`${text}${text}`)]);
    expect(decode(payloads)).toEqual(reference(payloads));
    // A payload that escapes what needs no escaping decodes to the unescaped text.
    expect(decode([openai('a'), openai('b').replace('"b"', '"\\u0041"')])).toEqual([
      { type: 'text', text: 'a' },
      { type: 'text', text: 'A' },
    ]);
  });

  it('does not read by a template whose content place is not the one JSON.parse reads', () => {
    // A duplicate key: JSON.parse keeps the last content, the mark is at the first.
    const duplicate = (first: string, last: string) =>
      `{"choices":[{"index":0,"delta":{"content":"${first}","content":"${last}"},"finish_reason":null}]}`;
    const payloads = [duplicate('a', 'b'), duplicate('c', 'd'), duplicate('e', 'f')];
    expect(decode(payloads)).toEqual([
      { type: 'text', text: 'b' },
      { type: 'text', text: 'd' },
      { type: 'text', text: 'f' },
    ]);
    // The mark twice: the second delta (the one read) would be missed by a template of the first.
    const twice = (text: string) =>
      `{"x":{"delta":{"content":"${text}"}},"choices":[{"index":0,"delta":{"content":"${text}"},"finish_reason":null}]}`;
    expect(decode([twice('a'), twice('b')])).toEqual(reference([twice('a'), twice('b')]));
  });

  it('still sees a finish reason, an error and a tool call after a template was learned', () => {
    const out = decode(
      [
        openai('a'),
        openai('b'),
        chunk({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'f', arguments: '{}' } }] }),
        chunk({}, 'tool_calls'),
        '[DONE]',
      ],
      true,
    );
    expect(out).toEqual([
      { type: 'text', text: 'a' },
      { type: 'text', text: 'b' },
      { type: 'tool-call', callId: 'call_1', name: 'f', arguments: '{}' },
      { type: 'finish', finishReason: 'tool_calls' },
    ]);
    expect(() => decode([openai('a'), openai('b'), '{"error":{"message":"overloaded"}}'])).toThrow(/overloaded/);
    // A chunk of the template's head and tail whose text holds a raw control character is not
    // JSON: it fails as JSON.parse fails it, not read as text.
    expect(() => decode([openai('a'), openai('a').replace('"a"', '"b\u0001"')])).toThrow(/not JSON/);
  });
});

describe('mapChatFinishReason', () => {
  it('maps the OpenAI reasons and defaults unknown ones to stop', () => {
    expect(mapChatFinishReason('stop')).toBe('stop');
    expect(mapChatFinishReason('length')).toBe('length');
    expect(mapChatFinishReason('tool_calls')).toBe('tool_calls');
    expect(mapChatFinishReason('function_call')).toBe('tool_calls');
    expect(mapChatFinishReason('content_filter')).toBe('content_filter');
    expect(mapChatFinishReason('eos_token')).toBe('stop');
  });
});
