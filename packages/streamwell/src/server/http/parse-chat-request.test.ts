import { describe, expect, it } from 'vitest';
import { parseChatBody } from './parse-chat-request.ts';

const limits = { maxMessageChars: 20 };
const encode = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value));
const user = (id: string, ...texts: string[]) => ({
  id,
  role: 'user',
  parts: texts.map((text) => ({ type: 'text', text })),
});

describe('parseChatBody', () => {
  it('takes the last user message text parts as the prompt and the chat id as the thread', () => {
    const body = parseChatBody(
      encode({
        id: 'chat-1',
        trigger: 'submit-message',
        extra: 'app body fields are allowed',
        messages: [
          user('u1', 'first'),
          { id: 'a1', role: 'assistant', parts: [{ type: 'text', text: 'answer' }] },
          {
            id: 'u2',
            role: 'user',
            parts: [
              { type: 'file', url: 'x' },
              { type: 'text', text: 'two' },
              { type: 'text', text: 'parts' },
            ],
          },
        ],
      }),
      limits,
    );
    expect(body).toEqual({ chatId: 'chat-1', message: 'two\nparts', trigger: 'submit-message', messageId: undefined });
  });

  it('reads a regenerate with its message id', () => {
    const body = parseChatBody(
      encode({ id: 'c', trigger: 'regenerate-message', messageId: 'a1', messages: [user('u1', 'again')] }),
      limits,
    );
    expect(body).toMatchObject({ message: 'again', trigger: 'regenerate-message', messageId: 'a1' });
  });

  it.each([
    ['not JSON', new TextEncoder().encode('{'), 'invalid_json', 400],
    ['an array', encode([]), 'bad_request', 400],
    ['no chat id', encode({ messages: [user('u', 'x')] }), 'bad_request', 400],
    ['a bad trigger', encode({ id: 'c', trigger: 'x', messages: [user('u', 'x')] }), 'bad_request', 400],
    ['no messages', encode({ id: 'c' }), 'bad_request', 400],
    [
      'no user message',
      encode({ id: 'c', messages: [{ id: 'a', role: 'assistant', parts: [] }] }),
      'empty_message',
      400,
    ],
    ['an empty prompt', encode({ id: 'c', messages: [user('u', '  ')] }), 'empty_message', 400],
    ['a long prompt', encode({ id: 'c', messages: [user('u', 'x'.repeat(21))] }), 'message_too_long', 413],
    [
      'parts that are no array',
      encode({ id: 'c', messages: [{ id: 'u', role: 'user', parts: 'x' }] }),
      'bad_request',
      400,
    ],
  ])('refuses %s', (_name, bytes, code, status) => {
    expect(() => parseChatBody(bytes, limits)).toThrow(expect.objectContaining({ code, status }));
  });
});
