import { describe, expect, it } from 'vitest';
import { parseStartBody } from '../http/parse-start-request.ts';
import { parseClientMessage } from './parse-client-message.ts';

const limits = { maxMessageChars: 10 };

function failure(run: () => unknown): { code: string; message: string } | 'ok' {
  try {
    run();
  } catch (error) {
    const { code, message } = error as { code: string; message: string };
    return { code, message };
  }
  return 'ok';
}

describe('WebSocket client messages', () => {
  it('parses start, resume and cancel', () => {
    expect(
      parseClientMessage(
        '{"type":"start","message":"hi","threadId":"t1","idempotencyKey":"k","requestId":"r"}',
        limits,
      ),
    ).toEqual({ type: 'start', message: 'hi', threadId: 't1', idempotencyKey: 'k', requestId: 'r' });
    expect(parseClientMessage('{"type":"start","message":"hi","threadId":null}', limits)).toEqual({
      type: 'start',
      message: 'hi',
    });
    expect(parseClientMessage('{"type":"resume","streamId":"s","after":"7"}', limits)).toEqual({
      type: 'resume',
      streamId: 's',
      after: 7,
    });
    expect(parseClientMessage('{"type":"cancel","streamId":"s"}', limits)).toEqual({ type: 'cancel', streamId: 's' });
  });

  it('refuses a start exactly as POST /api/stream/message refuses the same fields', () => {
    const cases = [
      {},
      { message: null },
      { message: 42 },
      { message: '  ' },
      { message: 'x'.repeat(11) },
      { message: 'hi', threadId: '' },
      { message: 'hi', threadId: 'a\u0000b' },
      { message: 'hi', threadId: 7 },
    ];
    for (const fields of cases) {
      const overHttp = failure(() => parseStartBody(new TextEncoder().encode(JSON.stringify(fields)), limits));
      const overWebSocket = failure(() => parseClientMessage(JSON.stringify({ type: 'start', ...fields }), limits));
      expect(overHttp).not.toBe('ok');
      expect(overWebSocket).toEqual(overHttp);
    }
  });

  it('refuses a bad idempotency key, type or stream id with bad_request', () => {
    expect(
      failure(() => parseClientMessage('{"type":"start","message":"hi","idempotencyKey":5}', limits)),
    ).toMatchObject({
      code: 'bad_request',
    });
    expect(
      failure(() => parseClientMessage('{"type":"start","message":"hi","idempotencyKey":"a b"}', limits)),
    ).toMatchObject({ code: 'bad_request' });
    expect(failure(() => parseClientMessage('{"type":"resume"}', limits))).toMatchObject({ code: 'bad_request' });
    expect(failure(() => parseClientMessage('{"type":"resume","streamId":"s","after":-1}', limits))).toMatchObject({
      code: 'invalid_cursor',
    });
    expect(failure(() => parseClientMessage('[1]', limits))).toMatchObject({ code: 'bad_request' });
    expect(failure(() => parseClientMessage('{', limits))).toMatchObject({ code: 'invalid_json' });
  });
});
