import { describe, expect, it } from 'vitest';
import { type RunEvent, RunLog, tokenJson } from './run-log.ts';

// Every kind of piece: multi-byte and astral text, quotes, escapes, an empty-looking token,
// agent events between tokens, a checkpoint and the terminal event.
const SCRIPT: readonly (readonly ['token', string] | readonly [Exclude<RunEvent['event'], 'token'>, string])[] = [
  ['start', '{"streamId":"s","threadId":"t","protocol":1}'],
  ['token', 'Grüße 🌍'],
  ['tool-call', '{"type":"tool-call","name":"lookup","arguments":"{}"}'],
  ['token', ' "quoted"\n\\'],
  ['token', ' '],
  ['checkpoint', '{"type":"checkpoint","tokens":3}'],
  ['token', 'end'],
  ['done', '{"finishReason":"stop","tokens":4}'],
];

function fill(log: RunLog): RunEvent[] {
  return SCRIPT.map(([event, value], index) => {
    if (event === 'token') log.appendToken(value);
    else log.appendEvent(event, value);
    return { id: index + 1, event, json: event === 'token' ? JSON.stringify({ token: value }) : value };
  });
}

describe('RunLog', () => {
  it('returns the records it was given, from every cursor, live and after packing', () => {
    const log = new RunLog();
    const expected = fill(log);
    expect(log.length).toBe(SCRIPT.length);
    for (let cursor = 0; cursor <= SCRIPT.length + 1; cursor += 1) {
      expect(log.after(cursor)).toEqual(expected.slice(cursor));
    }
    expect(log.after(undefined)).toEqual(expected);
    log.pack();
    log.pack();
    expect(log.length).toBe(SCRIPT.length);
    for (let cursor = 0; cursor <= SCRIPT.length + 1; cursor += 1) {
      expect(log.after(cursor)).toEqual(expected.slice(cursor));
    }
    expect(log.after(-5)).toEqual(expected);
  });

  it('keeps the answer as the tokens joined, before and after packing', () => {
    const log = new RunLog();
    expect(log.text()).toBe('');
    log.appendEvent('start', '{}');
    log.appendToken('one');
    expect(log.text()).toBe('one');
    fill(log);
    const text = `oneGrüße 🌍 "quoted"\n\\ end`;
    expect(log.text()).toBe(text);
    log.pack();
    expect(log.text()).toBe(text);
  });

  it('gives the tokens joined at every call, however the calls and appends interleave', () => {
    const log = new RunLog();
    const tokens: string[] = [];
    // Calls after one token, after several, twice in a row, and with events in between.
    for (const [index, count] of [1, 3, 0, 1, 7, 0, 2].entries()) {
      for (let token = 0; token < count; token += 1) {
        const text = `t${index}.${token} `;
        tokens.push(text);
        log.appendToken(text);
      }
      if (index % 2 === 0) log.appendEvent('checkpoint', '{}');
      expect(log.text()).toBe(tokens.join(''));
    }
    log.pack();
    expect(log.text()).toBe(tokens.join(''));
    log.clear();
    expect(log.text()).toBe(tokens.join(''));
  });

  it('builds token JSON exactly as JSON.stringify does, escapes included', () => {
    for (const text of ['plain', 'a"b', 'line\nbreak\r', '\u2028\u2029', '\u0000', '🌍', '\\']) {
      expect(tokenJson(text)).toBe(JSON.stringify({ token: text }));
      expect(JSON.parse(tokenJson(text))).toEqual({ token: text });
    }
  });

  it('refuses appends after packing and a token through appendEvent', () => {
    const log = new RunLog();
    expect(() => log.appendEvent('token', '{"token":"x"}')).toThrow(/appendEvent/);
    log.pack();
    expect(() => log.appendToken('x')).toThrow(/after pack/);
    expect(() => log.appendEvent('done', '{}')).toThrow(/after pack/);
  });

  it('drops the events on clear but keeps the answer', () => {
    const log = new RunLog();
    fill(log);
    const text = log.text();
    log.clear();
    expect(log.length).toBe(0);
    expect(log.after(0)).toEqual([]);
    expect(log.text()).toBe(text);
  });
});

describe('tokenJson', () => {
  it('is JSON.stringify({ token }) for every kind of text, plain or needing escapes', () => {
    const texts = [
      '',
      'Hi',
      ' world',
      '"',
      '\\',
      'a\nb',
      '\u0000',
      '\u001f',
      '\u007f',
      'é',
      '😀',
      '\ud800',
      'x\udfff',
      '</script>',
    ];
    for (const text of texts) expect(tokenJson(text)).toBe(JSON.stringify({ token: text }));
  });
});
