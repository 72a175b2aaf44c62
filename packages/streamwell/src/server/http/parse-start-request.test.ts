import { describe, expect, it } from 'vitest';
import { assertJsonContentType, parseCursor, parseIdempotencyKey, parseStartBody } from './parse-start-request.ts';

const bytes = (text: string) => new TextEncoder().encode(text);
const limits = { maxMessageChars: 10 };

describe('start request parsing', () => {
  it('accepts JSON as application/json, text/plain, or with no type', () => {
    for (const type of [undefined, 'application/json', 'application/json; charset=utf-8', 'text/plain;charset=UTF-8']) {
      expect(() => assertJsonContentType(type)).not.toThrow();
    }
    for (const type of ['application/x-www-form-urlencoded', 'text/html', 'application/jsonx']) {
      expect(() => assertJsonContentType(type)).toThrow(expect.objectContaining({ status: 415 }));
    }
  });

  it('validates the body', () => {
    expect(parseStartBody(bytes('{"message":"hi","threadId":"t"}'), limits)).toEqual({ message: 'hi', threadId: 't' });
    expect(parseStartBody(bytes('{"message":"hi","threadId":null}'), limits)).toEqual({
      message: 'hi',
      threadId: undefined,
    });
    const code = (text: string) => {
      try {
        parseStartBody(bytes(text), limits);
      } catch (error) {
        return (error as { code: string }).code;
      }
      return 'ok';
    };
    expect(code('')).toBe('invalid_json');
    expect(code('{')).toBe('invalid_json');
    expect(code('"hi"')).toBe('bad_request');
    expect(code('{}')).toBe('empty_message');
    expect(code('{"message":"   "}')).toBe('empty_message');
    expect(code('{"message":"01234567890"}')).toBe('message_too_long');
    expect(code('{"message":"hi","threadId":""}')).toBe('bad_request');
    expect(code('{"message":"hi","threadId":"a\\u0000b"}')).toBe('bad_request');
  });

  it('refuses bytes that are not UTF-8, and a body after them decodes on its own (one shared decoder)', () => {
    // A truncated multibyte character, then a complete one: nothing of the first is carried over.
    const truncated = Uint8Array.of(...bytes('{"message":"a'), 0xe2, 0x82);
    expect(() => parseStartBody(truncated, limits)).toThrow(expect.objectContaining({ code: 'invalid_json' }));
    expect(parseStartBody(bytes('{"message":"€"}'), limits)).toEqual({ message: '€', threadId: undefined });
    expect(() => parseStartBody(Uint8Array.of(0x22, 0xff, 0x22), limits)).toThrow(
      expect.objectContaining({ code: 'invalid_json' }),
    );
    expect(parseStartBody(bytes('{"message":"ok"}'), limits)).toEqual({ message: 'ok', threadId: undefined });
  });

  it('reads cursors with the header winning over ?after=', () => {
    expect(parseCursor(undefined, null)).toBeUndefined();
    expect(parseCursor('', '4')).toBe(4);
    expect(parseCursor('7', '4')).toBe(7);
    expect(() => parseCursor('x', null)).toThrow(expect.objectContaining({ code: 'invalid_cursor' }));
    expect(() => parseCursor(undefined, '-1')).toThrow(expect.objectContaining({ code: 'invalid_cursor' }));
  });

  it('validates Idempotency-Key', () => {
    expect(parseIdempotencyKey('abc-123')).toBe('abc-123');
    expect(() => parseIdempotencyKey('')).toThrow();
    expect(() => parseIdempotencyKey('a b')).toThrow();
  });
});
