import { describe, expect, it } from 'vitest';
import { parseChatKitRequest } from './parse-chatkit-request.ts';

const parse = (body: unknown) => parseChatKitRequest(new TextEncoder().encode(JSON.stringify(body)));

describe('parseChatKitRequest', () => {
  it('reads each of the 16 request types with its minimal params', () => {
    const input = { content: [{ type: 'input_text', text: 'Hi' }], attachments: [], inference_options: {} };
    const minimal: Record<string, unknown> = {
      'threads.create': { input },
      'threads.add_user_message': { thread_id: 't', input },
      'threads.add_client_tool_output': { thread_id: 't', result: { ok: true } },
      'threads.add_structured_input': { thread_id: 't', item_id: 'i', input: { status: 'skipped', answers: {} } },
      'threads.retry_after_item': { thread_id: 't', item_id: 'i' },
      'threads.custom_action': { thread_id: 't', action: { type: 'a' } },
      'threads.sync_custom_action': { thread_id: 't', item_id: 'w', action: { type: 'a', payload: [1] } },
      'threads.get_by_id': { thread_id: 't' },
      'threads.list': {},
      'items.list': { thread_id: 't' },
      'threads.update': { thread_id: 't', title: '' },
      'threads.delete': { thread_id: 't' },
      'items.feedback': { thread_id: 't', item_ids: ['a'], kind: 'negative' },
      'attachments.create': { name: 'a.png', size: 0, mime_type: 'image/png' },
      'attachments.delete': { attachment_id: 'atc_1' },
      'input.transcribe': { audio_base64: 'AAEC', mime_type: 'audio/webm' },
    };
    for (const [type, params] of Object.entries(minimal)) expect(parse({ type, params }).type).toBe(type);
  });

  it('applies the defaults (limit 20, order desc) and keeps what a message may carry', () => {
    expect(parse({ type: 'threads.list' })).toEqual({
      type: 'threads.list',
      limit: 20,
      order: 'desc',
      after: undefined,
    });
    expect(parse({ type: 'items.list', params: { thread_id: 't', limit: 5, order: 'asc', after: 'msg_1' } })).toEqual({
      type: 'items.list',
      thread_id: 't',
      limit: 5,
      order: 'asc',
      after: 'msg_1',
    });
    const message = parse({
      type: 'threads.create',
      params: {
        input: {
          content: [{ type: 'input_tag', id: 'e1', text: 'Ada', interactive: true }],
          attachments: ['atc_1'],
          quoted_text: 'q',
          inference_options: { model: 'm', tool_choice: { id: 'search' }, extra: 1 },
        },
      },
    });
    expect(message).toEqual({
      type: 'threads.create',
      input: {
        content: [{ type: 'input_tag', id: 'e1', text: 'Ada', data: {}, interactive: true }],
        attachments: ['atc_1'],
        quoted_text: 'q',
        inference_options: { tool_choice: { id: 'search' }, model: 'm' },
      },
    });
    const audio = parse({ type: 'input.transcribe', params: { audio_base64: 'AAEC', mime_type: 'audio/webm' } });
    expect(audio.type === 'input.transcribe' && [...audio.audio]).toEqual([0, 1, 2]);
  });

  it('refuses a missing inference_options, unknown types and parts, bad limits and bad base64, naming the field', () => {
    const refuse = (body: unknown, field: string) =>
      expect(() => parse(body)).toThrow(
        expect.objectContaining({ code: 'bad_request', status: 400, message: expect.stringContaining(field) }),
      );
    refuse({ type: 'threads.create', params: { input: { content: [], attachments: [] } } }, 'inference_options');
    refuse(
      {
        type: 'threads.create',
        params: { input: { content: [{ type: 'image' }], attachments: [], inference_options: {} } },
      },
      'content[0].type',
    );
    refuse({ type: 'nope' }, 'nope');
    refuse({ type: 'threads.list', params: { limit: 0 } }, 'limit');
    refuse({ type: 'threads.list', params: { limit: 2.5 } }, 'limit');
    refuse({ type: 'threads.get_by_id', params: { thread_id: '' } }, 'thread_id');
    refuse({ type: 'threads.get_by_id', params: { thread_id: 'x'.repeat(201) } }, 'thread_id');
    refuse({ type: 'attachments.create', params: { name: 'a', size: -1, mime_type: 'x' } }, 'size');
    refuse({ type: 'input.transcribe', params: { audio_base64: 'A', mime_type: 'x' } }, 'audio_base64');
    refuse([], 'body');
    expect(() => parseChatKitRequest(new Uint8Array([0xff]))).toThrow(
      expect.objectContaining({ code: 'invalid_json' }),
    );
  });
});
