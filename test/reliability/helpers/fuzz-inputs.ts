/**
 * Generators of hostile input for the fuzz suite (`hostile-input-fuzz.test.ts`): ids, query
 * strings, header values and bodies that a careless or malicious client sends. Each generator
 * mixes well-formed values (so that requests get past the first check and reach the deeper
 * ones) with broken ones.
 *
 * @module
 */
import fc from 'fast-check';

/** Ids the fuzz suite knows (real streams, threads and chats of the principals). */
export interface KnownIds {
  readonly streams: readonly string[];
  readonly threads: readonly string[];
  readonly chats: readonly string[];
}

/** Percent-encodes every byte of a string's UTF-8 form that is not unreserved. */
const encode = (text: string): string => encodeURIComponent(text);

/** A path segment: a known id, or something broken (sent as is in the request target). */
export const pathId = (known: readonly string[]): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map(encode) },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        '',
        '..',
        '%2e%2e',
        '%00',
        '%ZZ',
        '%',
        '%C3%28',
        '%FF%FE',
        '__proto__',
        'constructor',
        'prototype',
        'null',
        'undefined',
        '-1',
        '0',
        'a%2Fb',
        '%20',
        `${'a'.repeat(1100)}`,
        `${'%F0%9F%8C%8D'.repeat(200)}`,
        'AAAAAAAAAAAAAAAAAAAAAAAA',
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom(...known).map((id) => `${id}x`) },
    { weight: 1, arbitrary: fc.constantFrom(...known).map((id) => id.slice(0, -1)) },
  );

/** A cursor value: numbers in and out of range, and garbage. */
export const cursorValue: fc.Arbitrary<string> = fc.oneof(
  fc.nat(20).map(String),
  fc.constantFrom(
    '-1',
    '1e3',
    '0x10',
    '1.5',
    ' 3 ',
    'abc',
    '',
    'NaN',
    'Infinity',
    '999999999999999',
    '9999999999999999999999',
    '00000000000000000001',
    '+1',
    '%00',
    '\u0663',
  ),
  fc.string({ maxLength: 12 }),
  fc.constant('9'.repeat(600)),
);

/** A query string (with its `?`), or none. */
export const queryString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.constant('') },
  {
    weight: 2,
    arbitrary: fc
      .array(
        fc.tuple(
          fc.constantFrom(
            'after',
            'limit',
            'cursor',
            'x',
            '__proto__',
            'constructor[prototype][polluted]',
            'after[]',
            '',
          ),
          fc.oneof(cursorValue.map(encode), fc.constantFrom('%', '%FF', '&&', '==', 'a=b=c')),
        ),
        { maxLength: 4 },
      )
      .map((pairs) => `?${pairs.map(([key, value]) => `${key}=${value}`).join('&')}`),
  },
  { weight: 1, arbitrary: fc.constantFrom('?', '??', '?&', `?after=${'1'.repeat(3000)}`, '?%', '#frag') },
);

/** A header value: well-formed, absent (undefined) or hostile (a Buffer may hold any bytes). */
export const headerValue = (good: readonly string[]): fc.Arbitrary<string | Buffer | undefined> =>
  fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...good) },
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 1, arbitrary: fc.string({ maxLength: 30 }).map((text) => text.replace(/[\r\n]/g, '')) },
    { weight: 1, arbitrary: fc.constantFrom('', ' ', 'x'.repeat(9000), '\t\t') },
    {
      weight: 1,
      arbitrary: fc
        .uint8Array({ minLength: 1, maxLength: 12 })
        .map((bytes) => Buffer.from(bytes.filter((byte) => byte !== 10 && byte !== 13))),
    },
  );

/** Any JSON value, as text. */
const anyJson: fc.Arbitrary<string> = fc.jsonValue({ maxDepth: 4 }).map((value) => JSON.stringify(value) ?? 'null');

/** A message field: strings of every size and kind, and wrong types. */
const messageValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.constantFrom('', ' ', '\n\t', '\u0000', 'x'.repeat(2001), '🌍'.repeat(1001)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);

/** Keys that pollute a prototype when a server copies objects carelessly. */
const POLLUTION = [
  '{"__proto__":{"polluted":true,"message":"x"},"message":"hi"}',
  '{"constructor":{"prototype":{"polluted":true}},"message":"hi"}',
  '{"message":"hi","__proto__":{"isAdmin":true},"threadId":"t"}',
  '{"message":{"toString":"x","valueOf":1}}',
  '{"message":"hi","hasOwnProperty":"x","threadId":{"__proto__":null}}',
];

/** Numbers JSON allows that JavaScript cannot hold. */
const HUGE_NUMBERS = [
  '{"message":1e999999}',
  '{"message":"hi","threadId":123456789012345678901234567890}',
  '{"message":"hi","threadId":-0}',
  '{"message":"hi","after":1e-400}',
  '[1e309]',
];

/** Nesting deep enough to overflow a recursive walker (the body still fits the size limit). */
const deepNesting = fc
  .tuple(fc.integer({ min: 100, max: 7000 }), fc.constantFrom('[', '{"a":'))
  .map(([depth, open]) =>
    open === '[' ? '['.repeat(depth) + ']'.repeat(depth) : `${open.repeat(depth)}1${'}'.repeat(depth)}`,
  );

/** What a body is meant to look like, per endpoint. */
export type BodyShape = 'start' | 'chat' | 'chatkit' | 'none';

/** A body in the shape of `shape` (mostly), or hostile bytes. */
export function body(shape: BodyShape, ids: KnownIds): fc.Arbitrary<Buffer> {
  const id = (known: readonly string[]) =>
    fc.oneof(fc.constantFrom(...known), fc.string({ maxLength: 20 }), fc.constantFrom(null, 7, 'x'.repeat(300), ['a']));
  const shaped: Record<BodyShape, fc.Arbitrary<unknown>> = {
    start: fc.record(
      {
        message: messageValue,
        threadId: id(ids.threads),
        extra: fc.jsonValue({ maxDepth: 2 }),
      },
      { requiredKeys: [] },
    ),
    chat: fc.record(
      {
        id: id(ids.chats),
        trigger: fc.constantFrom('submit-message', 'regenerate-message', 'resume-stream', 'x', 7),
        messageId: id(ids.chats),
        messages: fc.oneof(
          fc.array(
            fc.record(
              {
                id: fc.string({ maxLength: 10 }),
                role: fc.constantFrom('user', 'assistant', 'system', 'tool', 'x', 1),
                parts: fc.oneof(
                  fc.array(
                    fc.record(
                      { type: fc.constantFrom('text', 'file', 'reasoning', 'x'), text: messageValue },
                      { requiredKeys: [] },
                    ),
                    { maxLength: 3 },
                  ),
                  fc.jsonValue({ maxDepth: 2 }),
                ),
              },
              { requiredKeys: [] },
            ),
            { maxLength: 3 },
          ),
          fc.jsonValue({ maxDepth: 2 }),
        ),
      },
      { requiredKeys: [] },
    ),
    chatkit: fc.record(
      {
        type: fc.constantFrom(
          'threads.create',
          'threads.add_user_message',
          'threads.add_client_tool_output',
          'threads.retry_after_item',
          'threads.custom_action',
          'threads.get_by_id',
          'threads.delete',
          'threads.list',
          'threads.update',
          'items.list',
          'items.feedback',
          'attachments.create',
          'attachments.delete',
          'input.transcribe',
          'nope',
          '__proto__',
        ),
        params: fc.oneof(
          fc.record(
            {
              thread_id: id(ids.threads),
              input: fc.record(
                {
                  content: fc.array(
                    fc.record({ type: fc.constantFrom('input_text', 'input_tag', 'x'), text: messageValue }),
                    {
                      maxLength: 2,
                    },
                  ),
                  attachments: fc.jsonValue({ maxDepth: 1 }),
                  inference_options: fc.jsonValue({ maxDepth: 1 }),
                },
                { requiredKeys: [] },
              ),
              limit: fc.oneof(fc.integer(), fc.constant('10'), fc.constant(1e300)),
              size: fc.oneof(fc.integer(), fc.double()),
              name: fc.string({ maxLength: 10 }),
              mime_type: fc.constantFrom('image/png', 'text/plain', '', 'x'),
              audio_base64: fc.constantFrom('', 'AAAA', '!!!', 'QUJD'),
              item_ids: fc.jsonValue({ maxDepth: 1 }),
            },
            { requiredKeys: [] },
          ),
          fc.jsonValue({ maxDepth: 2 }),
        ),
      },
      { requiredKeys: [] },
    ),
    none: fc.constant(undefined),
  };
  const valid: Record<BodyShape, string> = {
    start: JSON.stringify({ message: 'hi' }),
    chat: JSON.stringify({
      id: 'fuzz-chat-2',
      trigger: 'submit-message',
      messages: [{ id: 'm1', role: 'user', parts: [{ type: 'text', text: 'hi' }] }],
    }),
    chatkit: JSON.stringify({
      type: 'threads.create',
      params: { input: { content: [{ type: 'input_text', text: 'hi' }], attachments: [], inference_options: {} } },
    }),
    none: '',
  };
  const text = fc.oneof(
    { weight: 8, arbitrary: fc.constant(valid[shape]) },
    { weight: 8, arbitrary: shaped[shape].map((value) => (value === undefined ? '' : (JSON.stringify(value) ?? ''))) },
    { weight: 2, arbitrary: anyJson },
    { weight: 1, arbitrary: fc.constantFrom(...POLLUTION) },
    { weight: 1, arbitrary: fc.constantFrom(...HUGE_NUMBERS) },
    { weight: 1, arbitrary: deepNesting },
    {
      weight: 1,
      arbitrary: fc.constantFrom('', ' ', 'null', '"hi"', '{', '{"message":', '{"message":"hi"', 'message=hi'),
    },
  );
  return fc.oneof(
    { weight: 6, arbitrary: text.map((value) => Buffer.from(value, 'utf8')) },
    // Cut short anywhere (a client that gave up, or a proxy that cut the body).
    {
      weight: 1,
      arbitrary: fc
        .tuple(text, fc.nat())
        .map(([value, at]) => Buffer.from(value, 'utf8').subarray(0, value.length === 0 ? 0 : at % value.length)),
    },
    // Invalid UTF-8 inside an otherwise fine body.
    {
      weight: 1,
      arbitrary: fc
        .constantFrom([0xff], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf0, 0x9f, 0x8c], [0xc0, 0xaf])
        .map((bytes) => Buffer.concat([Buffer.from('{"message":"a'), Buffer.from(bytes), Buffer.from('b"}')])),
    },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)) },
  );
}
