/**
 * The thread list: newest first, the current one marked, a dot on the thread whose reply is
 * streaming.
 *
 * @module
 */
import type { ChatThread } from '../chat/threads-reducer.ts';

/** Props of {@link ThreadList}. */
export interface ThreadListProps {
  readonly threads: readonly ChatThread[];
  readonly activeThreadId: string;
  /** The thread whose reply is streaming, if any. */
  readonly busyThreadId: string | undefined;
  readonly onSelect: (threadId: string) => void;
  readonly onNew: () => void;
}

/**
 * Renders the list.
 *
 * @param props - threads and callbacks
 * @returns a `<nav>`
 */
export function ThreadList({ threads, activeThreadId, busyThreadId, onSelect, onNew }: ThreadListProps) {
  return (
    <nav className="threads" aria-label="Threads">
      <button type="button" className="button button-new" onClick={onNew}>
        <svg className="icon" viewBox="0 0 16 16" aria-hidden="true">
          <path d="M8 3v10M3 8h10" />
        </svg>
        New thread
      </button>
      <ul className="thread-items">
        {threads.map((thread) => (
          <li key={thread.id}>
            <button
              type="button"
              className={thread.id === activeThreadId ? 'thread thread-active' : 'thread'}
              aria-current={thread.id === activeThreadId ? 'page' : undefined}
              onClick={() => onSelect(thread.id)}
            >
              <span className="thread-title">{thread.title}</span>
              <span className="thread-meta">
                {thread.id === busyThreadId ? (
                  <span className="thread-live">
                    <span className="live-dot" aria-hidden="true" />
                    replying
                  </span>
                ) : (
                  `${thread.messages.length} message${thread.messages.length === 1 ? '' : 's'}`
                )}
              </span>
            </button>
          </li>
        ))}
      </ul>
    </nav>
  );
}
