import { describe, expect, it } from 'vitest';
import { type ChatStreamProgress, trackChatStream } from './track-chat-stream.ts';

const START =
  'data: {"type":"start","messageId":"S"}\n\ndata: {"type":"start-step"}\n\nid: 1\ndata: {"type":"text-start","id":"text"}\n\n';
const delta = (id: number, text: string) => `id: ${id}\ndata: {"type":"text-delta","id":"text","delta":"${text}"}\n\n`;
const END =
  'data: {"type":"text-end","id":"text"}\n\ndata: {"type":"finish-step"}\n\nid: 4\ndata: {"type":"finish","finishReason":"stop"}\n\ndata: [DONE]\n\n';
const WHOLE = `${START}${delta(2, 'a')}: ping\n\n${delta(3, 'b')}${END}`;

/** A body that delivers `pieces` (as bytes), then ends, or fails with `failure`. */
function body(pieces: readonly string[], failure?: unknown): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let index = 0;
  return new ReadableStream({
    pull(controller) {
      if (index < pieces.length) controller.enqueue(encoder.encode(pieces[index++] as string));
      else if (failure === undefined) controller.close();
      else controller.error(failure);
    },
  });
}

/** Reads a stream to its end; returns the text read and the error it failed with, if any. */
async function drain(stream: ReadableStream<Uint8Array>): Promise<{ text: string; error: unknown }> {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: undefined };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

const progressOf = (): ChatStreamProgress => ({ streamId: 'S', lastId: 0, interrupted: false });

/** Cuts `text` into pieces of `size` characters (also inside frames and lines). */
const pieces = (text: string, size: number): string[] =>
  Array.from({ length: Math.ceil(text.length / size) }, (_, index) => text.slice(index * size, (index + 1) * size));

describe('trackChatStream', () => {
  it('hands over whole event groups only, whatever the cuts, and drops heartbeat comments', async () => {
    for (const size of [1, 3, 7, 50, WHOLE.length]) {
      const progress = progressOf();
      const { text, error } = await drain(trackChatStream(body(pieces(WHOLE, size)), progress, 0));
      expect(error).toBeUndefined();
      expect(text).toBe(WHOLE.replace(': ping\n\n', ''));
      expect(progress).toEqual({ streamId: 'S', lastId: 4, interrupted: false });
    }
  });

  it('turns a failed body into a network TypeError after the last whole group, and records where', async () => {
    const progress = progressOf();
    const cutInsideDelta = START + delta(2, 'a') + delta(3, 'b').slice(0, 10);
    const { text, error } = await drain(trackChatStream(body([cutInsideDelta], new Error('terminated')), progress, 0));
    expect(text).toBe(START + delta(2, 'a'));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as TypeError).message).toMatch(/^network error/);
    expect(progress).toMatchObject({ lastId: 2, interrupted: true });
  });

  it('reports an end before [DONE] as an interruption too, and passes an abort through unchanged', async () => {
    const ended = progressOf();
    const early = await drain(trackChatStream(body([START + delta(2, 'a')]), ended, 0));
    expect(early.error).toBeInstanceOf(TypeError);
    expect(ended).toMatchObject({ lastId: 2, interrupted: true });

    const abort = new DOMException('The operation was aborted.', 'AbortError');
    const stopped = await drain(trackChatStream(body([START], abort), progressOf(), 0));
    expect(stopped.error).toBe(abort);
  });

  it('on a resume of the same reply, drops the groups the SDK already has', async () => {
    const progress = progressOf();
    const { text } = await drain(trackChatStream(body(pieces(WHOLE, 5)), progress, 2));
    expect(text).toBe(delta(3, 'b') + END);
    expect(progress.lastId).toBe(4);
  });
});
