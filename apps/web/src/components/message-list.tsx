/**
 * The messages of one thread. The reply that is streaming right now is shown from the hook's live
 * text (in a polite live region); finished replies from the thread, with how they ended.
 *
 * @module
 */
import { useEffect, useRef } from 'react';
import type { ChatMessage, ChatThread } from '../chat/threads-reducer.ts';
import type { StreamStatus } from './status-badge.tsx';
import { StreamedMarkdown } from './streamed-markdown.tsx';

/** The reply being streamed, as the hook sees it. */
export interface LiveReply {
  readonly messageId: string;
  readonly text: string;
  readonly status: StreamStatus;
  readonly resumedFrom: number | undefined;
  readonly demo: boolean;
}

/** Props of {@link MessageList}. */
export interface MessageListProps {
  readonly thread: ChatThread;
  readonly live: LiveReply | undefined;
}

function Outcome({ message }: { message: ChatMessage }) {
  const resumed =
    message.resumedFrom === undefined ? null : (
      <span className="outcome outcome-resumed">Resumed after event #{message.resumedFrom}</span>
    );
  if (message.outcome === 'stopped') {
    return (
      <p className="message-meta">
        <span className="outcome outcome-stopped">Stopped — the run was cancelled on the server</span>
        {message.text === '' ? null : <span>partial reply kept</span>}
        {resumed}
      </p>
    );
  }
  if (message.outcome === 'error') {
    return (
      <p className="message-meta" role="alert">
        <span className="outcome outcome-error">
          Error{message.error === undefined ? '' : ` (${message.error.code})`}: {message.error?.message ?? 'failed'}
        </span>
        {message.text === '' ? null : <span>partial reply kept</span>}
        {resumed}
      </p>
    );
  }
  return resumed === null ? null : <p className="message-meta">{resumed}</p>;
}

function LiveMeta({ live }: { live: LiveReply }) {
  if (live.status === 'reconnecting') {
    return (
      <p className="message-meta">
        <span className="outcome outcome-reconnecting">
          Connection lost — reconnecting
          {live.resumedFrom === undefined ? '' : `, resuming after event #${live.resumedFrom}`}. The text so far is
          kept.
        </span>
      </p>
    );
  }
  if (live.status === 'connecting' && live.text === '') {
    return (
      <p className="message-meta">
        <span className="typing" aria-hidden="true">
          <span />
          <span />
          <span />
        </span>
        <span>Waiting for the first token…</span>
      </p>
    );
  }
  return live.resumedFrom === undefined ? null : (
    <p className="message-meta">
      <span className="outcome outcome-resumed">Resumed after event #{live.resumedFrom}</span>
    </p>
  );
}

function Message({ message, live }: { message: ChatMessage; live: LiveReply | undefined }) {
  const isUser = message.role === 'user';
  const streaming = live !== undefined;
  const text = live?.text ?? message.text;
  const demo = live?.demo ?? message.demo ?? false;
  return (
    <article
      className={`message ${isUser ? 'message-user' : 'message-assistant'}${streaming ? ' is-streaming' : ''}`}
      aria-label={isUser ? 'You' : 'Assistant'}
      data-role={message.role}
      data-stream-id={message.streamId}
      data-outcome={message.outcome ?? (streaming ? 'streaming' : undefined)}
    >
      <header className="message-author">
        {isUser ? 'You' : 'Assistant'}
        {demo && !isUser ? <span className="chip">demo</span> : null}
      </header>
      {isUser ? (
        <p className="message-text">{text}</p>
      ) : (
        <div
          className="message-body"
          data-testid={streaming ? 'live-reply' : undefined}
          aria-live={streaming ? 'polite' : undefined}
          aria-busy={streaming && live.status === 'connecting' ? true : undefined}
        >
          <StreamedMarkdown
            text={text}
            incomplete={streaming || message.outcome === 'stopped' || message.outcome === 'error'}
          />
        </div>
      )}
      {live === undefined ? <Outcome message={message} /> : <LiveMeta live={live} />}
    </article>
  );
}

/**
 * Renders the thread, keeping the view pinned to the bottom while the reply grows unless the
 * reader has scrolled up.
 *
 * @param props - the thread and the live reply
 * @returns a scrolling `<section>`
 */
export function MessageList({ thread, live }: MessageListProps) {
  const scroller = useRef<HTMLElement>(null);
  const pinned = useRef(true);
  const liveLength = live?.text.length ?? 0;

  // biome-ignore lint/correctness/useExhaustiveDependencies: scroll again whenever content grows.
  useEffect(() => {
    const element = scroller.current;
    if (element !== null && pinned.current) element.scrollTop = element.scrollHeight;
  }, [liveLength, thread.messages.length, thread.id]);

  return (
    <section
      className="messages"
      ref={scroller}
      aria-label="Conversation"
      onScroll={(event) => {
        const element = event.currentTarget;
        pinned.current = element.scrollHeight - element.scrollTop - element.clientHeight < 48;
      }}
    >
      {thread.messages.length === 0 ? (
        <div className="empty">
          <h2>Start a conversation</h2>
          <p>
            Replies stream token by token. Press <strong>Stop</strong> to cancel a reply on the server, or reload the
            page mid-reply: it resumes where it left off.
          </p>
        </div>
      ) : (
        thread.messages.map((message) => (
          <Message
            key={message.id}
            message={message}
            live={live !== undefined && live.messageId === message.id ? live : undefined}
          />
        ))
      )}
    </section>
  );
}
