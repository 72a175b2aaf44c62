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
