/**
 * The chat state of the page, kept in sessionStorage so that a reload (also mid-reply) shows the
 * same threads; the streaming hook resumes the reply itself.
 *
 * @module
 */
import { type Dispatch, useEffect, useReducer } from 'react';
import { type ChatAction, type ChatState, createChatState, isChatState, threadsReducer } from './threads-reducer.ts';

/** The sessionStorage key of the page's threads. */
export const CHAT_STORAGE_KEY = 'streamwell:web:threads';

/**
 * A random id for threads and messages (local only, never sent as a secret).
 *
 * @returns a short random id
 */
export function createLocalId(): string {
  return crypto.randomUUID();
}

function load(): ChatState {
  try {
    const stored = sessionStorage.getItem(CHAT_STORAGE_KEY);
    if (stored !== null) {
      const parsed: unknown = JSON.parse(stored);
      if (isChatState(parsed)) return parsed;
    }
  } catch {
    // Storage can be disabled or hold garbage; a fresh state is the right answer either way.
  }
  return createChatState(createLocalId(), Date.now());
}

/**
 * The page's threads, loaded from and saved to sessionStorage.
 *
 * @returns the state and its dispatch
 */
export function useChatState(): [ChatState, Dispatch<ChatAction>] {
  const [state, dispatch] = useReducer(threadsReducer, undefined, load);
  useEffect(() => {
    try {
      sessionStorage.setItem(CHAT_STORAGE_KEY, JSON.stringify(state));
    } catch {
      // Quota exceeded or storage disabled: the chat still works, it just won't survive a reload.
    }
  }, [state]);
  return [state, dispatch];
}
