/**
 * Markdown to safe HTML. Model output is untrusted: it can contain raw HTML, `javascript:` links
 * or event-handler attributes (prompt injection can put them there on purpose). Every string that
 * reaches `innerHTML` goes through DOMPurify after marked, with links forced to open safely.
 *
 * @module
 */
import DOMPurify from 'dompurify';
import { Marked } from 'marked';

/** Counters that let tests check the parse work stays linear in the reply length. */
export interface MarkdownStats {
  /** Characters handed to the markdown parser so far. */
  parsedChars: number;
  /** Parser calls so far. */
  parseCalls: number;
}

/** Shared counters, exposed on `window.__streamwellMarkdown` by the page for the e2e suite. */
export const markdownStats: MarkdownStats = { parsedChars: 0, parseCalls: 0 };

// An own instance, so that no global marked configuration leaks in or out.
const marked = new Marked({ gfm: true, breaks: false, async: false });

let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Links from a model open in a new tab and never get a handle on this page.
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    if (node instanceof HTMLAnchorElement && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer nofollow');
    }
  });
}

/**
 * Renders one markdown block to sanitized HTML.
 *
 * @param markdown - untrusted markdown from the model
 * @returns HTML that is safe to assign to `innerHTML`
 */
export function renderMarkdown(markdown: string): string {
  installHooks();
  markdownStats.parsedChars += markdown.length;
  markdownStats.parseCalls += 1;
  const html = marked.parse(markdown) as string;
  return DOMPurify.sanitize(html, {
    USE_PROFILES: { html: true },
    // Forms and embedded content have no place in a chat reply.
    FORBID_TAGS: ['style', 'form', 'input', 'button', 'textarea', 'select', 'iframe', 'object', 'embed'],
    FORBID_ATTR: ['style'],
  });
}
