/**
 * The title a thread gets from its first user message.
 *
 * @module
 */

/** Most characters of a title taken from a message. */
export const MAX_TITLE_CHARS = 80;

/**
 * A title from a user message: its whitespace collapsed, trimmed, cut at
 * {@link MAX_TITLE_CHARS} characters (with `…`). Null for a message with no visible text.
 *
 * @param message - the first user message
 * @returns the title, or null
 * @example titleFromMessage('  Hello\n  world ') // 'Hello world'
 */
export function titleFromMessage(message: string): string | null {
  const text = message.replace(/\s+/g, ' ').trim();
  if (text === '') return null;
  if (text.length <= MAX_TITLE_CHARS) return text;
  // Cut on a code point boundary: a lone surrogate would not survive JSON round trips intact.
  const cut = Array.from(text.slice(0, MAX_TITLE_CHARS)).slice(0, -1).join('');
  return `${cut.trimEnd()}…`;
}
