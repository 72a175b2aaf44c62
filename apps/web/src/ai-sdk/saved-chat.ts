/**
 * The `/ai-sdk` page's chat in sessionStorage, the way a `useChat` app keeps its messages: a
 * reload (also mid-reply) shows the same conversation, and the resume on mount then rebuilds the
 * reply that was streaming in place (same message id, so it is not shown twice).
 *
 * @module
 */
import type { UIMessage } from 'ai';

/** The sessionStorage key of the page's chat. */
export const SAVED_CHAT_KEY = 'streamwell:web:ai-sdk';

/** What the page keeps. */
export interface SavedChat {
  /** The chat id: streamwell's thread id. */
  readonly id: string;
  readonly messages: UIMessage[];
  /** Replies the user stopped, to say so after a reload. */
  readonly stopped: string[];
  /** A reply was streaming when saved: after a reload it shows as such until the resume settles. */
  readonly inProgress: boolean;
}

function isSavedChat(value: unknown): value is SavedChat {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<SavedChat>;
  return (
    typeof candidate.id === 'string' &&
    Array.isArray(candidate.messages) &&
    candidate.messages.every(
      (message) =>
        typeof message === 'object' &&
        message !== null &&
        typeof message.id === 'string' &&
        Array.isArray(message.parts),
    ) &&
    Array.isArray(candidate.stopped) &&
    typeof candidate.inProgress === 'boolean'
  );
}

/**
 * A new, empty chat.
 *
 * @returns the chat with a fresh id
 */
export function newChat(): SavedChat {
  return { id: crypto.randomUUID(), messages: [], stopped: [], inProgress: false };
}

/**
 * The saved chat, or a new one.
 *
 * @returns the chat
 */
export function loadChat(): SavedChat {
  try {
    const stored = sessionStorage.getItem(SAVED_CHAT_KEY);
    if (stored !== null) {
      const parsed: unknown = JSON.parse(stored);
      if (isSavedChat(parsed)) return parsed;
    }
  } catch {
    // Storage disabled or garbage: a fresh chat is the right answer either way.
  }
  return newChat();
}

/**
 * Saves the chat.
 *
 * @param chat - the chat
 */
export function saveChat(chat: SavedChat): void {
  try {
    sessionStorage.setItem(SAVED_CHAT_KEY, JSON.stringify(chat));
  } catch {
    // Quota exceeded or storage disabled: the chat still works, it just won't survive a reload.
  }
}
