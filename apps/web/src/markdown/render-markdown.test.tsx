import { describe, expect, it } from 'vitest';
import { renderMarkdown } from './render-markdown.ts';

function toDom(html: string): HTMLElement {
  const element = document.createElement('div');
  element.innerHTML = html;
  return element;
}

describe('renderMarkdown', () => {
  it('renders markdown', () => {
    const dom = toDom(renderMarkdown('# Hi\n\n**bold** and `code`\n\n- a\n- b'));
    expect(dom.querySelector('h1')?.textContent).toBe('Hi');
    expect(dom.querySelector('strong')?.textContent).toBe('bold');
    expect(dom.querySelectorAll('li')).toHaveLength(2);
  });

  it('removes scripts, event handlers and javascript: links that a model may emit', () => {
    const dom = toDom(
      renderMarkdown(
        '<script>alert(1)</script>\n\n<img src="x" onerror="alert(2)">\n\n[click](javascript:alert(3))\n\n<a href="javascript:alert(4)">x</a>\n\n<iframe src="https://example.com"></iframe>',
      ),
    );
    expect(dom.querySelector('script')).toBeNull();
    expect(dom.querySelector('iframe')).toBeNull();
    expect(dom.querySelector('[onerror]')).toBeNull();
    for (const anchor of dom.querySelectorAll('a')) {
      expect(anchor.getAttribute('href') ?? '').not.toMatch(/^\s*javascript:/i);
    }
  });

  it('opens model links in a new tab without giving them a handle on the page', () => {
    const anchor = toDom(renderMarkdown('[docs](https://example.com/docs)')).querySelector('a');
    expect(anchor?.getAttribute('target')).toBe('_blank');
    expect(anchor?.getAttribute('rel')).toContain('noopener');
  });
});
