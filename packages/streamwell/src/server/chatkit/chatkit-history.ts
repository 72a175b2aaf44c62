/**
 * The model's view of a ChatKit thread: its items as chat messages, newest within a character
 * budget. Follows the reference's converter where plain chat messages can carry it: hidden context
 * (the integration's and the SDK's own, such as the cancel marker) reaches the model as user
 * messages, a widget as a description of what the user was shown, a completed client tool call as
 * the call and its result; pending calls, tasks, workflows and images are left out.
 *
 * @module
 */
import type { ChatMessage } from '../provider.ts';
import type { ChatKitThreadItem } from './chatkit-types.ts';
import type { ChatKitStore } from './create-chatkit-store.ts';

/** Limits of {@link loadChatKitHistory}. */
export interface ChatKitHistoryLimits {
  /** Characters of history sent (the newest message always goes). @defaultValue 32000 */
  readonly maxChars?: number;
  /** Most items read. @defaultValue 200 */
  readonly maxItems?: number;
}

const json = (value: unknown): string => JSON.stringify(value ?? null);

/**
 * One item as chat messages (none for items the model does not read).
 *
 * @param item - a thread item
 * @returns its messages, in order
 */
export function chatKitItemToMessages(item: ChatKitThreadItem): ChatMessage[] {
  switch (item.type) {
    case 'user_message': {
      let text = item.content.map((part) => (part.type === 'input_tag' ? `@${part.text}` : part.text)).join('');
      if (item.quoted_text !== undefined && item.quoted_text !== '') text = `> ${item.quoted_text}\n\n${text}`;
      for (const attachment of item.attachments) {
        text += `\n[Attached ${attachment.type}: ${attachment.name} (${attachment.mime_type})]`;
      }
      return text === '' ? [] : [{ role: 'user', content: text }];
    }
    case 'assistant_message': {
      const text = item.content.map((part) => part.text).join('');
      return text === '' ? [] : [{ role: 'assistant', content: text }];
    }
    case 'hidden_context_item':
    case 'sdk_hidden_context':
      return [{ role: 'user', content: typeof item.content === 'string' ? item.content : json(item.content) }];
    case 'client_tool_call':
      if (item.status !== 'completed') return [];
      return [
        { role: 'assistant', content: `Called the tool ${item.name} with ${json(item.arguments)}.` },
        { role: 'user', content: `The tool ${item.name} returned: ${json(item.output)}` },
      ];
    case 'widget':
      return [
        {
          role: 'user',
          content: `The following graphical UI widget (id: ${item.id}) was displayed to the user: ${
            typeof item.copy_text === 'string' ? item.copy_text : json(item.widget)
          }`,
        },
      ];
    case 'structured_input': {
      if (item.status === 'pending') return [];
      const lines = item.inputs.map((input) => {
        const answer = input.answer as { values?: string[]; skipped?: boolean } | undefined;
        const reply = answer === undefined || answer.skipped === true ? '(skipped)' : (answer.values ?? []).join(', ');
        return `${input.question} ${reply}`;
      });
      return [{ role: 'user', content: lines.join('\n') }];
    }
    default:
      return [];
  }
}

/**
 * The newest messages that fit in the budget, whole messages only; the newest always goes.
 *
 * @param messages - oldest first
 * @param maxChars - the character budget
 * @returns the kept messages, oldest first
 */
export function boundMessages(messages: readonly ChatMessage[], maxChars: number): ChatMessage[] {
  let first = messages.length;
  let budget = maxChars;
  while (first > 0) {
    const length = (messages[first - 1] as ChatMessage).content.length;
    if (length > budget && first < messages.length) break;
    budget -= length;
    first -= 1;
  }
  return messages.slice(first);
}

/**
 * Reads a thread's history for the model, newest first from the store until the budget is spent.
 *
 * @param store - the ChatKit store
 * @param threadId - the thread
 * @param owner - its owner
 * @param limits - character and item budgets
 * @returns the messages, oldest first
 */
export async function loadChatKitHistory(
  store: ChatKitStore,
  threadId: string,
  owner: string | undefined,
  limits: ChatKitHistoryLimits = {},
): Promise<ChatMessage[]> {
  const maxChars = limits.maxChars ?? 32_000;
  const maxItems = limits.maxItems ?? 200;
  const newestFirst: ChatKitThreadItem[] = [];
  let chars = 0;
  let after: string | undefined;
  while (newestFirst.length < maxItems && chars <= maxChars) {
    const page = await store.loadItems(threadId, owner, { limit: 100, order: 'desc', after });
    for (const item of page.items) {
      newestFirst.push(item);
      for (const message of chatKitItemToMessages(item)) chars += message.content.length;
    }
    if (!page.hasMore || page.after === undefined) break;
    after = page.after;
  }
  const messages = newestFirst
    .slice(0, maxItems)
    .reverse()
    .flatMap((item) => chatKitItemToMessages(item));
  return boundMessages(messages, maxChars);
}
