/**
 * Provisional completion of a markdown block that is still streaming, so that the page never shows
 * raw syntax mid-reply: an inline code span, bold, italic, bold-italic or strikethrough that is
 * open is closed for this frame (`` `X-Accel `` renders as code, not as a backtick), a link whose
 * URL has not arrived shows its text, a marker with nothing after it yet (a trailing `**`) is
 * hidden, and an image without its URL and a table without its delimiter row wait. The text the model sent is never changed: this runs
 * on a copy, every frame, and only while the block can still grow.
 *
 * The rules are Vercel's `remend` (the completion behind `streamdown`), plus what it leaves out:
 * a dangling opener, an incomplete image and a table header still waiting for its delimiter row
 * are hidden, and a `[text]` that may become a link shows as its text. Fenced code is never touched: `remend`
 * skips code blocks, and an open fence never gets here (the view renders it as plain text).
 *
 * @module
 */
import remend, { INCOMPLETE_IMAGE_PLACEHOLDER, isWithinCodeBlock, type RemendHandler } from 'remend';

/**
 * One run of a single marker at the very end, opening nothing yet: after a space, an opening
 * bracket or at a line start. One kind only, so the closing backtick of `` `**` `` is not one.
 */
const DANGLING_MARKER = /(^|[\s([{>])(\*+|_+|~+|`+)$/;

/** An image whose URL has not arrived: remend points it at a placeholder; it is shown once complete. */
const INCOMPLETE_IMAGE = new RegExp(`!\\[[^\\]\\n]*\\]\\(${INCOMPLETE_IMAGE_PLACEHOLDER}\\)$`);

/**
 * True when `position` is inside a code span that opened before it and is not closed: a span
 * closes only with a backtick run of its opening run's length (CommonMark 6.1), so `` ``a`b `` is
 * still open.
 */
function isInOpenCodeSpan(text: string, position: number): boolean {
  let open: number | undefined;
  let index = 0;
  while (index < position) {
    if (text[index] !== '`' || (open === undefined && text[index - 1] === '\\')) {
      index += 1;
      continue;
    }
    let end = index;
    while (end < position && text[end] === '`') end += 1;
    const run = end - index;
    if (open === undefined) open = run;
    else if (run === open) open = undefined;
    index = end;
  }
  return open !== undefined;
}

const hideDanglingMarker: RemendHandler = {
  name: 'streamwell-dangling-marker',
  // Before remend's own handlers: a bare `**` must go before the bold rule counts it as an opener.
  priority: -1,
  handle(text) {
    const match = DANGLING_MARKER.exec(text);
    if (match === null) return text;
    const start = match.index + (match[1]?.length ?? 0);
    // Inside code a marker is literal text (`a *` in an open span), and fences are never touched.
    if (isWithinCodeBlock(text, start) || isInOpenCodeSpan(text, start)) return text;
    // Without the spaces before it too: remend's setext rule must see `para\n-` as a possible
    // underline (it guards that), not `para\n- ` that its final trim turns into an `<h2>`.
    return text.slice(0, start).replace(/[ \t]+$/, '');
  },
};

/** `[text]` or `![alt]` at the very end: a link or image whose `(url)` may come next. */
const PENDING_LINK = /(!?)\[([^[\]\n]*)\]$/;

const unwrapPendingLink: RemendHandler = {
  name: 'streamwell-pending-link',
  // Before remend's link rule (20) and emphasis rules (30+), which then close what is around it.
  priority: 19,
  handle(text) {
    const match = PENDING_LINK.exec(text);
    if (match === null || isWithinCodeBlock(text, match.index) || isInOpenCodeSpan(text, match.index)) return text;
    // Shown as remend's text-only mode shows `[text](ur`: the text, unlinked; an image not at all.
    return `${text.slice(0, match.index)}${match[1] === '!' ? '' : (match[2] ?? '')}`;
  },
};

/** A line of a pipe table (GFM): it starts with `|`. */
const TABLE_LINE = /^ {0,3}\|/;
const DELIMITER_CELL = /^\s*:?-+:?\s*$/;

function tableCells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '')
    .split(/(?<!\\)\|/);
}

const hidePendingTable: RemendHandler = {
  name: 'streamwell-pending-table',
  // First: the rules after it must not close emphasis inside rows that are about to be hidden.
  priority: -2,
  handle(text) {
    const lines = text.split('\n');
    let start = lines.length;
    while (start > 0 && TABLE_LINE.test(lines[start - 1] ?? '')) start -= 1;
    if (start === lines.length) return text;
    // GFM makes the rows a table once the delimiter row under the header has as many cells.
    const header = tableCells(lines[start] ?? '');
    const delimiter = lines[start + 1] === undefined ? undefined : tableCells(lines[start + 1] ?? '');
    if (delimiter?.length === header.length && delimiter.every((cell) => DELIMITER_CELL.test(cell))) return text;
    const kept = lines.slice(0, start).join('\n');
    if (isWithinCodeBlock(text, kept.length + 1)) return text;
    // Until then they would show as raw `| Layer |` text: wait for the table to exist.
    return kept;
  },
};

const hideIncompleteImage: RemendHandler = {
  name: 'streamwell-incomplete-image',
  // After remend's link and image rule (priority 20) has closed the image on its placeholder.
  priority: 101,
  handle: (text) => text.replace(INCOMPLETE_IMAGE, ''),
};

/**
 * Closes what is open at the end of a streaming markdown block, for display only.
 *
 * @param markdown - the growing block (text after the last finished block), outside any open fence
 * @returns markdown that renders without raw syntax; equal to the input when nothing is open
 * @example
 * completePartialMarkdown('Send `X-Accel-Buffering:'); // 'Send `X-Accel-Buffering:`'
 * completePartialMarkdown('a **bold'); // 'a **bold**'
 * completePartialMarkdown('see [the docs](https://exa'); // 'see the docs'
 */
export function completePartialMarkdown(markdown: string): string {
  return remend(markdown, {
    // The link's text, unlinked, until its URL is complete: a placeholder URL would be stripped by
    // the sanitizer anyway, and remend's placeholder mode stops before closing an outer `**`.
    linkMode: 'text-only',
    handlers: [hidePendingTable, hideDanglingMarker, unwrapPendingLink, hideIncompleteImage],
  });
}
