import { describe, expect, it } from 'vitest';
import { completePartialMarkdown } from './complete-partial-markdown.ts';
import { renderMarkdown } from './render-markdown.ts';

/** What the page shows for a streaming block: completed, rendered and sanitized. */
function shown(markdown: string): HTMLElement {
  const element = document.createElement('div');
  element.innerHTML = renderMarkdown(completePartialMarkdown(markdown));
  return element;
}

/** Visible text, with the zero-width space remend may add dropped. */
function visibleText(element: HTMLElement): string {
  return (element.textContent ?? '').replace(/\u200b/g, '').trim();
}

describe('completePartialMarkdown', () => {
  it('closes an open inline code span: the backtick never shows', () => {
    expect(completePartialMarkdown('Send `X-Accel-Buffering:')).toBe('Send `X-Accel-Buffering:`');
    const dom = shown('Send `X-Accel-Buffering:');
    expect(dom.querySelector('code')?.textContent).toBe('X-Accel-Buffering:');
    expect(visibleText(dom)).toBe('Send X-Accel-Buffering:');
  });

  it('closes open bold', () => {
    expect(completePartialMarkdown('a **bold')).toBe('a **bold**');
    const dom = shown('a **bold');
    expect(dom.querySelector('strong')?.textContent).toBe('bold');
    expect(visibleText(dom)).toBe('a bold');
  });

  it('closes open italic, with * and with _', () => {
    expect(completePartialMarkdown('an *ital')).toBe('an *ital*');
    expect(completePartialMarkdown('an _ital')).toBe('an _ital_');
    expect(shown('an *ital').querySelector('em')?.textContent).toBe('ital');
    expect(visibleText(shown('an _ital'))).toBe('an ital');
  });

  it('closes open bold italic', () => {
    const dom = shown('very ***important');
    expect(dom.querySelector('strong em, em strong')?.textContent).toBe('important');
    expect(visibleText(dom)).toBe('very important');
  });

  it('closes open strikethrough', () => {
    expect(completePartialMarkdown('a ~~gone')).toBe('a ~~gone~~');
    const dom = shown('a ~~gone');
    expect(dom.querySelector('del')?.textContent).toBe('gone');
    expect(visibleText(dom)).toBe('a gone');
  });

  it('shows a link whose URL is still arriving as its text, without brackets', () => {
    for (const partial of ['see [the docs', 'see [the docs]', 'see [the docs](', 'see [the docs](https://exa']) {
      const dom = shown(partial);
      expect(visibleText(dom)).toBe('see the docs');
      expect(dom.querySelector('a')).toBeNull();
    }
    // Once complete it is a link: the text stays where it was.
    expect(shown('see [the docs](https://example.com)').querySelector('a')?.getAttribute('href')).toBe(
      'https://example.com',
    );
  });

  it('closes an outer construct around an open link', () => {
    const dom = shown('**read [the docs');
    expect(dom.querySelector('strong')?.textContent).toBe('read the docs');
  });

  it('hides an image until its URL is complete', () => {
    expect(visibleText(shown('look: ![a chart](https://exa'))).toBe('look:');
    expect(shown('look: ![a chart](https://exa').querySelector('img')).toBeNull();
    expect(visibleText(shown('look: ![a chart]'))).toBe('look:');
  });

  it('hides a dangling marker that opens nothing yet', () => {
    for (const [partial, text] of [
      ['then **', 'then'],
      ['then *', 'then'],
      ['then _', 'then'],
      ['then ~~', 'then'],
      ['then `', 'then'],
      ['**', ''],
      ['a `x` `', 'a x'],
    ] as const) {
      expect(visibleText(shown(partial))).toBe(text);
    }
    // A marker cut off a list item must not turn the paragraph above into a heading.
    expect(shown('para\n- *').querySelector('h1, h2')).toBeNull();
  });

  it('hides a table header until its delimiter row makes it a table', () => {
    for (const partial of [
      'Limits:\n| Layer |',
      'Limits:\n| Layer | Timeout |\n| --- |',
      '| Layer | Timeout |\n| --- | -',
    ]) {
      const dom = shown(partial);
      expect(dom.textContent).not.toContain('|');
    }
    expect(visibleText(shown('Limits:\n| Layer | Timeout |'))).toBe('Limits:');
    const table = shown('| Layer | Timeout |\n| --- | --- |\n| nginx | 60');
    expect(table.querySelectorAll('th')).toHaveLength(2);
    expect(table.querySelector('td')?.textContent).toBe('nginx');
    expect(table.textContent).not.toContain('|');
  });

  it('leaves markers inside code alone', () => {
    expect(completePartialMarkdown('Say `**`')).toBe('Say `**`');
    expect(completePartialMarkdown('a `x *')).toBe('a `x *`');
    expect(completePartialMarkdown('a ``x`y *')).not.toBe('a ``x`y');
    expect(shown('a `x *').querySelector('code')?.textContent).toBe('x *');
  });

  it('never touches the inside of fenced code', () => {
    const open = '```js\nconst a = `x **y\n';
    expect(completePartialMarkdown(open)).toBe(open);
    const closed = '```\ncode `x **y\n```\n';
    expect(completePartialMarkdown(closed)).toBe(closed);
    // Text after a closed fence is completed; the fence's content is not.
    expect(completePartialMarkdown('```\ncode `x\n```\nsome `text')).toBe('```\ncode `x\n```\nsome `text`');
  });

  it('leaves finished and plain text as it is', () => {
    for (const text of [
      'plain words',
      'a `code` and **bold** and *it* and ~~del~~ and [a](https://a.example)',
      '2 * 3 = 6',
      'snake_case_name',
      'x_',
    ]) {
      expect(completePartialMarkdown(text)).toBe(text);
    }
  });
});
