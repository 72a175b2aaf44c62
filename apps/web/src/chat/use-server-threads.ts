/**
 * Keeps the page's threads in step with the server's: the list on load and after every reply,
 * a thread's history when it is opened, and deletion.
 *
 * @module
 */
import { type Dispatch, useCallback, useEffect, useRef, useState } from 'react';
import { deleteServerThread, getServerThread, listServerThreads } from './thread-api.ts';
import type { ChatAction, ChatState } from './threads-reducer.ts';
import { createLocalId } from './use-chat-state.ts';

/** What {@link useServerThreads} gives the page. */
export interface ServerThreads {
  /** Makes a thread the current one and loads its history from the server. */
  openThread(threadId: string): void;
  /** Deletes a thread, on the server too when it has one there. */
  deleteThread(threadId: string): Promise<void>;
  /** A short note when the server's conversations could not be read or changed. */
  readonly problem: string | undefined;
}

/**
 * Syncs with `GET /api/threads`, `GET /api/threads/{id}` and `DELETE /api/threads/{id}`.
 *
 * @param chat - the page's state
 * @param dispatch - its dispatch
 * @returns the thread actions that need the server
 */
export function useServerThreads(chat: ChatState, dispatch: Dispatch<ChatAction>): ServerThreads {
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const latest = useRef(chat);
  latest.current = chat;
  const idle = chat.pending === undefined;

  // The list: on load, and each time a reply ends (the server has moved that thread to the top).
  useEffect(() => {
    if (!idle) return;
    const controller = new AbortController();
    listServerThreads(controller.signal).then(
      (threads) => {
        setProblem(undefined);
        dispatch({ type: 'server-threads', threads });
      },
      () => {
        if (!controller.signal.aborted) setProblem('Saved conversations could not be loaded.');
      },
    );
    return () => controller.abort();
  }, [idle, dispatch]);

  const loadHistory = useCallback(
    (serverThreadId: string) => {
      getServerThread(serverThreadId).then(
        (thread) => {
          if (thread !== undefined) dispatch({ type: 'server-thread', thread });
        },
        () => setProblem('This conversation could not be loaded from the server.'),
      );
    },
    [dispatch],
  );

  // After a load (a new tab, or a reload), the current thread's history comes from the server
  // when this tab does not have it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, on mount.
  useEffect(() => {
    const state = latest.current;
    const active = state.threads.find((thread) => thread.id === state.activeThreadId);
    if (active?.serverThreadId !== undefined && active.messages.length === 0 && state.pending === undefined) {
      loadHistory(active.serverThreadId);
    }
  }, []);

  const openThread = useCallback(
    (threadId: string) => {
      dispatch({ type: 'select-thread', threadId });
      const state = latest.current;
      const thread = state.threads.find((candidate) => candidate.id === threadId);
      if (thread?.serverThreadId !== undefined && state.pending?.threadId !== threadId) {
        loadHistory(thread.serverThreadId);
      }
    },
    [dispatch, loadHistory],
  );

  const deleteThread = useCallback(
    async (threadId: string) => {
      const thread = latest.current.threads.find((candidate) => candidate.id === threadId);
      if (thread === undefined) return;
      try {
        // false (404): the server never had it, or no longer has it; either way it goes here too.
        if (thread.serverThreadId !== undefined) await deleteServerThread(thread.serverThreadId);
      } catch {
        setProblem('The conversation could not be deleted on the server; try again.');
        return;
      }
      setProblem(undefined);
      dispatch({ type: 'delete-thread', threadId, newId: createLocalId(), now: Date.now() });
    },
    [dispatch],
  );

  return { openThread, deleteThread, problem };
}
