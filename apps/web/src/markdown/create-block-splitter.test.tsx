import { describe, expect, it } from 'vitest';
import { createBlockSplitter } from './create-block-splitter.ts';

/** Feeds `text` to a fresh splitter in pieces of `size` characters and returns the last split. */
function feed(text: string, size: number) {
  const splitter = createBlockSplitter();
  let split = splitter.update('');
  for (let end = size; end < text.length + size; end += size) split = splitter.update(text.slice(0, end));
  return { split, splitter };
}

describe('createBlockSplitter', () => {
  it('cuts finished paragraphs at blank lines and keeps the last one as the tail', () => {
    const { split } = feed('# Title\n\nFirst paragraph.\n\nSecond, still', 1);
    expect(split.stable).toEqual(['# Title\n\n', 'First paragraph.\n\n']);
    expect(split.tail).toBe('Second, still');
    expect(split.openFenceAt).toBeUndefined();
  });

  it('loses and duplicates no character: blocks plus tail are the text', () => {
    const text = 'a\n\n\n\nb\n- one\n- two\n\n```js\nx\n\ny\n```\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\nend';
    for (const size of [1, 2, 3, 7, 50]) {
      const { split } = feed(text, size);
      expect(split.stable.join('') + split.tail).toBe(text);
    }
  });

  it('never cuts inside a code fence, and reports where an open fence starts in the tail', () => {
    const { split } = feed('Intro.\n\nHere:\n```python\ndef f():\n\n    return 1\n', 1);
    expect(split.stable).toEqual(['Intro.\n\n']);
    expect(split.tail).toBe('Here:\n```python\ndef f():\n\n    return 1\n');
    expect(split.openFenceAt).toBe('Here:\n'.length);
  });

  it('closes a fence only with a marker of the same kind and at least the same length', () => {
    const { split } = feed('````\n```\nstill code\n\n~~~~\n````\n\nafter', 1);
    expect(split.stable).toEqual(['````\n```\nstill code\n\n~~~~\n````\n\n']);
    expect(split.tail).toBe('after');
    expect(split.openFenceAt).toBeUndefined();
  });

  it('keeps an indented continuation after a blank line in the same block (loose list items)', () => {
    const { split } = feed('- item\n\n  more of the item\n- next\n\nParagraph', 1);
    expect(split.stable).toEqual(['- item\n\n  more of the item\n- next\n\n']);
    expect(split.tail).toBe('Paragraph');
  });

  it('scans each character once for an append-only reply (linear work)', () => {
    const text = 'word '.repeat(20).concat('\n\n').repeat(2000);
    const { splitter } = feed(text, 5);
    expect(splitter.scannedChars).toBeLessThanOrEqual(text.length);
  });

  it('starts over when the text is not an extension of the previous one', () => {
    const splitter = createBlockSplitter();
    splitter.update('old block\n\nold tail');
    const split = splitter.update('new\n\nnew tail');
    expect(split.stable).toEqual(['new\n\n']);
    expect(split.tail).toBe('new tail');
  });
});
