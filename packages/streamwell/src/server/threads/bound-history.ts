/**
 * The history sent to the model for a new user message, bounded by characters.
 *
 * @module
 */
import type { ChatMessage } from '../provider.ts';

/**
 * The newest `earlier` messages that fit in `maxChars` together with `message`, then `message`
 * as the user's. The whole of a message is kept or left out, never a part of one.
 *
 * @param earlier - the thread's earlier messages, oldest first
 * @param message - the new user message
 * @param maxChars - the character budget (the new message always goes, even past it)
 * @returns the history, ending with the new user message
 * @example boundHistory([{ role: 'user', content: 'hi' }], 'again', 10) // both messages
 */
export function boundHistory(earlier: readonly ChatMessage[], message: string, maxChars: number): ChatMessage[] {
  let budget = maxChars - message.length;
  let first = earlier.length;
  while (first > 0) {
    const content = (earlier[first - 1] as ChatMessage).content;
    if (content.length > budget) break;
    budget -= content.length;
    first -= 1;
  }
  return [...earlier.slice(first), { role: 'user', content: message }];
}
