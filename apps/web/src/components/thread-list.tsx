/**
 * The thread list: newest first, the current one marked, a dot on the thread whose reply is
 * streaming, and a delete button on each of the others.
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
  readonly onDelete: (threadId: string) => void;
  /** A note about the server's conversations (they could not be loaded, ...). */
  readonly problem?: string | undefined;
}

const TIME = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });

function meta(thread: ChatThread): string {
  // A thread from the server's list whose messages are not loaded yet: when it last changed.
  if (thread.messages.length === 0 && thread.listed === true) return TIME.format(new Date(thread.updatedAt));
  return `${thread.messages.length} message${thread.messages.length === 1 ? '' : 's'}`;
}

/**
 * Renders the list.
 *
 * @param props - threads and callbacks
 * @returns a `<nav>`
 */
export function ThreadList({
  threads,
  activeThreadId,
  busyThreadId,
  onSelect,
  onNew,
  onDelete,
  problem,
}: ThreadListProps) {
  return (
    <nav className="threads" aria-label="Threads">
      <button type="button" className="button button-new" onClick={onNew}>
        <svg className="icon" viewBox="0 0 16 16" aria-hidden="true">
          <path d="M8 3v10M3 8h10" />
        </svg>
        New thread
      </button>
      {problem === undefined ? null : (
        <p className="threads-problem" role="status">
          {problem}
        </p>
      )}
      <ul className="thread-items">
        {threads.map((thread, index) => (
          <li key={thread.id} className="thread-item">
            <button
              type="button"
              className={thread.id === activeThreadId ? 'thread thread-active' : 'thread'}
              aria-current={thread.id === activeThreadId ? 'page' : undefined}
              onClick={() => onSelect(thread.id)}
            >
              <span className="thread-title" id={`thread-title-${index}`}>
                {thread.title}
              </span>
              <span className="thread-meta">
                {thread.id === busyThreadId ? (
                  <span className="thread-live">
                    <span className="live-dot" aria-hidden="true" />
                    replying
                  </span>
                ) : (
                  meta(thread)
                )}
              </span>
            </button>
            {thread.id === busyThreadId ||
            (thread.messages.length === 0 && thread.serverThreadId === undefined) ? null : (
              // The name stays "Delete thread" (the title is its description): a button named
              // after the title would be a second control answering to the thread's name.
              <button
                type="button"
                className="button button-icon thread-delete"
                aria-label="Delete thread"
                aria-describedby={`thread-title-${index}`}
                title="Delete thread"
                onClick={() => onDelete(thread.id)}
              >
                <svg className="icon" viewBox="0 0 16 16" aria-hidden="true">
                  <path d="M4 4l8 8M12 4l-8 8" />
                </svg>
              </button>
            )}
          </li>
        ))}
      </ul>
    </nav>
  );
}
