import { describe, expect, it } from 'vitest';
import { boundMessages, chatKitItemToMessages } from './chatkit-history.ts';
import type { ChatKitThreadItem } from './chatkit-types.ts';

const base = { id: 'i', thread_id: 't', created_at: '2026-12-01T00:00:00.000Z' };
const item = (fields: Record<string, unknown>) => ({ ...base, ...fields }) as unknown as ChatKitThreadItem;

describe('chatKitItemToMessages', () => {
  it('reads messages with their quote, tags and attachments, hidden context as user notes, and completed tool calls', () => {
    expect(
      chatKitItemToMessages(
        item({
          type: 'user_message',
          content: [
            { type: 'input_text', text: 'Ask ' },
            { type: 'input_tag', id: 'e', text: 'Ada', data: {}, interactive: false },
          ],
          attachments: [{ id: 'a', name: 'a.png', mime_type: 'image/png', type: 'image', preview_url: 'u' }],
          quoted_text: 'before',
          inference_options: {},
        }),
      ),
    ).toEqual([{ role: 'user', content: '> before\n\nAsk @Ada\n[Attached image: a.png (image/png)]' }]);
    expect(
      chatKitItemToMessages(
        item({ type: 'assistant_message', content: [{ annotations: [], text: 'Hi', type: 'output_text' }] }),
      ),
    ).toEqual([{ role: 'assistant', content: 'Hi' }]);
    expect(chatKitItemToMessages(item({ type: 'hidden_context_item', content: { plan: 'pro' } }))).toEqual([
      { role: 'user', content: '{"plan":"pro"}' },
    ]);
    const call = { type: 'client_tool_call', call_id: 'c', name: 'get_sel', arguments: { a: 1 } };
    expect(chatKitItemToMessages(item({ ...call, status: 'pending' }))).toEqual([]);
    expect(chatKitItemToMessages(item({ ...call, status: 'completed', output: 'x' }))).toEqual([
      { role: 'assistant', content: 'Called the tool get_sel with {"a":1}.' },
      { role: 'user', content: 'The tool get_sel returned: "x"' },
    ]);
    expect(
      chatKitItemToMessages(item({ type: 'workflow', workflow: { type: 'custom', tasks: [], expanded: false } })),
    ).toEqual([]);
    expect(
      chatKitItemToMessages(
        item({
          type: 'structured_input',
          status: 'answered',
          inputs: [
            { id: 'p', question: 'Priority?', type: 'multiple_choice', answer: { values: ['High'], skipped: false } },
            { id: 'n', question: 'Notes?', type: 'freeform', answer: { skipped: true } },
          ],
        }),
      ),
    ).toEqual([{ role: 'user', content: 'Priority? High\nNotes? (skipped)' }]);
  });
});

describe('boundMessages', () => {
  it('keeps the newest whole messages within the budget, and always the newest one', () => {
    const messages = [
      { role: 'user' as const, content: 'aaaa' },
      { role: 'assistant' as const, content: 'bb' },
      { role: 'user' as const, content: 'cc' },
    ];
    expect(boundMessages(messages, 4)).toEqual(messages.slice(1));
    expect(boundMessages(messages, 3)).toEqual(messages.slice(2));
    expect(boundMessages(messages, 1)).toEqual(messages.slice(2));
    expect(boundMessages(messages, 100)).toEqual(messages);
  });
});
