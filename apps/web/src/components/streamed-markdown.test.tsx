import { render } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { markdownStats } from '../markdown/render-markdown.ts';
import { StreamedMarkdown } from './streamed-markdown.tsx';

/** A long markdown reply of about `tokens` word tokens, with paragraphs, lists and code. */
function longReply(tokens: number): string[] {
  const parts: string[] = [];
  for (let index = 0; parts.length < tokens; index += 1) {
    const section = [`## Part ${index}\n\n`, ...'Streaming keeps every token in order. '.repeat(6).match(/\S+\s*/g)!];
    parts.push(...section, '\n\n', '- one\n', '- two\n\n', '```ts\n', 'const x = 1;\n', '```\n\n');
  }
  return parts;
}

describe('StreamedMarkdown', () => {
  it('renders the same document as one full parse, token by token', () => {
    const tokens = longReply(400);
    const { container, rerender } = render(<StreamedMarkdown text="" />);
    let text = '';
    for (const token of tokens) {
      text += token;
      rerender(<StreamedMarkdown text={text} />);
    }
    expect(container.querySelectorAll('h2').length).toBe(text.match(/^## /gm)?.length);
    expect(container.querySelectorAll('pre code').length).toBe(text.match(/^```ts$/gm)?.length);
    expect(container.textContent?.replace(/\s+/g, '')).toBe(
      text.replace(/^## |^- |^```ts$|^```$/gm, '').replace(/\s+/g, ''),
    );
  });

  it('parses a long streamed reply in linear work: finished blocks are parsed once', () => {
    // Parse work per character must not grow with the reply's length. Re-parsing the whole reply
    // per token would make it grow in proportion (4x the tokens, ~4x the work per character).
    const workPerChar = (tokenCount: number): number => {
      const { rerender, unmount } = render(<StreamedMarkdown text="" />);
      const before = markdownStats.parsedChars;
      let text = '';
      for (const token of longReply(tokenCount)) {
        text += token;
        rerender(<StreamedMarkdown text={text} />);
      }
      unmount();
      return (markdownStats.parsedChars - before) / text.length;
    };
    const short = workPerChar(500);
    const long = workPerChar(2000);
    expect(long).toBeLessThan(short * 1.25);
  });

  it('while incomplete, shows an open code span as code, with no raw backtick and no jump when it closes', () => {
    const partial = 'Behind nginx, send `X-Accel-Buffering:';
    const { container, rerender } = render(<StreamedMarkdown text={partial} incomplete />);
    expect(container.querySelector('code')?.textContent).toBe('X-Accel-Buffering:');
    expect(container.textContent).not.toContain('`');
    rerender(<StreamedMarkdown text={`${partial} no\` and **bold`} incomplete />);
    expect(container.querySelector('code')?.textContent).toBe('X-Accel-Buffering: no');
    expect(container.querySelector('strong')?.textContent).toBe('bold');
    expect(container.textContent).not.toMatch(/[`*]/);
    // Finished blocks and finished replies render exactly what was written.
    const final = render(<StreamedMarkdown text={partial} />);
    expect(final.container.textContent).toContain('`X-Accel-Buffering:');
    const earlier = render(<StreamedMarkdown text={'a `open\n\nnext **b'} incomplete />);
    expect(earlier.container.textContent?.replace(/\s+/g, ' ').trim()).toBe('a `open next b');
  });

  it('leaves the text before and inside an open fence as written while incomplete', () => {
    const { container } = render(<StreamedMarkdown text={'Use `x:\n```js\nconst a = `b **c\n'} incomplete />);
    expect(container.querySelector('pre code')?.textContent).toBe('const a = `b **c\n');
    expect(container.querySelector('p')?.textContent).toBe('Use `x:');
  });

  it('renders an unclosed code fence as escaped text, with no markup injected', () => {
    const { container } = render(<StreamedMarkdown text={'Code:\n```html\n<img src=x onerror=alert(1)>\n'} />);
    const code = container.querySelector('pre code.language-html');
    expect(code?.textContent).toBe('<img src=x onerror=alert(1)>\n');
    expect(container.querySelector('img')).toBeNull();
  });
});
