import { describe, expect, it } from 'vitest';
import type { RunEvent } from '../run-event-log.ts';
import { tokenJson } from '../run-log.ts';
import {
  encodeUiMessageChunks,
  UI_MESSAGE_STREAM_ENCODER,
  UI_MESSAGE_STREAM_FORMAT,
} from './ui-message-stream-format.ts';

/** The `data:` payloads of an SSE text, in order (`[DONE]` kept as a string). */
function chunksOf(text: string): unknown[] {
  return text
    .split('\n\n')
    .filter((frame) => frame !== '')
    .map((frame) => {
      const data = frame
        .split('\n')
        .filter((line) => line.startsWith('data: '))
        .map((line) => line.slice('data: '.length));
      expect(data).toHaveLength(1);
      return data[0] === '[DONE]' ? '[DONE]' : JSON.parse(data[0] as string);
    });
}

const start: RunEvent = { id: 1, event: 'start', json: '{"streamId":"S1","threadId":"chat","protocol":1}' };
const token = (id: number, text: string): RunEvent => ({ id, event: 'token', json: tokenJson(text) });

describe('UI message stream format', () => {
  it('maps a run to start, start-step, text-start, text-deltas, text-end, finish-step, finish and [DONE]', () => {
    const events: RunEvent[] = [
      start,
      token(2, 'Hel'),
      token(3, 'lo "q"\n✓'),
      { id: 4, event: 'checkpoint', json: '{"type":"checkpoint","tokens":2}' },
      { id: 5, event: 'done', json: '{"finishReason":"length","tokens":2}' },
    ];
    expect(chunksOf(UI_MESSAGE_STREAM_ENCODER.encode(events))).toEqual([
      { type: 'start', messageId: 'S1' },
      { type: 'start-step' },
      { type: 'text-start', id: 'text' },
      { type: 'text-delta', id: 'text', delta: 'Hel' },
      { type: 'text-delta', id: 'text', delta: 'lo "q"\n✓' },
      { type: 'text-end', id: 'text' },
      { type: 'finish-step' },
      { type: 'finish', finishReason: 'length' },
      '[DONE]',
    ]);
  });

  it('puts the event id on the last chunk of each event, and writes nothing for a checkpoint', () => {
    expect(encodeUiMessageChunks(token(7, 'x'))).toBe('id: 7\ndata: {"type":"text-delta","id":"text","delta":"x"}\n\n');
    expect(encodeUiMessageChunks({ id: 8, event: 'checkpoint', json: '{"type":"checkpoint","tokens":50}' })).toBe('');
    const frames = encodeUiMessageChunks(start).split('\n\n');
    expect(frames.map((frame) => frame.startsWith('id: 1\n'))).toEqual([false, false, true, false]);
  });

  it('maps finish reasons to the SDK values, and a cancel to abort then finish "other"', () => {
    const done = (finishReason: string) =>
      chunksOf(encodeUiMessageChunks({ id: 9, event: 'done', json: JSON.stringify({ finishReason, tokens: 1 }) }));
    expect(done('stop')).toContainEqual({ type: 'finish', finishReason: 'stop' });
    expect(done('content_filter')).toContainEqual({ type: 'finish', finishReason: 'content-filter' });
    expect(done('tool_calls')).toContainEqual({ type: 'finish', finishReason: 'tool-calls' });
    expect(done('cancelled')).toEqual([
      { type: 'text-end', id: 'text' },
      { type: 'finish-step' },
      { type: 'abort', reason: 'cancelled' },
      { type: 'finish', finishReason: 'other' },
      '[DONE]',
    ]);
  });

  it('maps an error event to an error chunk with the message and code, then [DONE]', () => {
    const json = JSON.stringify({ error: 'The model sent nothing for 5 ms.', code: 'idle_timeout' });
    expect(chunksOf(encodeUiMessageChunks({ id: 3, event: 'error', json }))).toEqual([
      { type: 'error', errorText: 'The model sent nothing for 5 ms.', code: 'idle_timeout' },
      '[DONE]',
    ]);
  });

  it('closes the text part around a tool call, so text after the tool is a new part after it', () => {
    const call: RunEvent = {
      id: 3,
      event: 'tool-call',
      json: JSON.stringify({ type: 'tool-call', callId: 'c1', name: 'weather', arguments: '{"city":"Oslo"}' }),
    };
    const result: RunEvent = {
      id: 4,
      event: 'tool-result',
      json: JSON.stringify({ type: 'tool-result', callId: 'c1', output: 'sunny' }),
    };
    expect(chunksOf(UI_MESSAGE_STREAM_ENCODER.encode([call, result]))).toEqual([
      { type: 'text-end', id: 'text' },
      {
        type: 'tool-input-available',
        toolCallId: 'c1',
        toolName: 'weather',
        input: { city: 'Oslo' },
        providerExecuted: true,
      },
      { type: 'text-start', id: 'text' },
      { type: 'tool-output-available', toolCallId: 'c1', output: 'sunny', providerExecuted: true },
    ]);
    expect(encodeUiMessageChunks({ id: 5, event: 'handoff', json: '{"type":"handoff","to":"b"}' })).toBe('');
  });

  it('still encodes a token whose JSON is not the compact form', () => {
    expect(chunksOf(encodeUiMessageChunks({ id: 2, event: 'token', json: '{ "token": "a\\u0000b" }' }))).toEqual([
      { type: 'text-delta', id: 'text', delta: 'a\u0000b' },
    ]);
  });

  it('declares the UI message stream header and an SSE comment as heartbeat', () => {
    expect(UI_MESSAGE_STREAM_FORMAT.headers['x-vercel-ai-ui-message-stream']).toBe('v1');
    expect(UI_MESSAGE_STREAM_FORMAT.headers['Content-Type']).toMatch(/^text\/event-stream/);
    expect(UI_MESSAGE_STREAM_FORMAT.heartbeat).toBe(': ping\n\n');
  });
});
