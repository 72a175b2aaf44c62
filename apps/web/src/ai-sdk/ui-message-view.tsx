/**
 * One AI SDK `UIMessage` on the `/ai-sdk` page: its text parts as streamed markdown, its tool
 * parts as a line each, and how the reply ended (with the same words and markup as the main page).
 *
 * @module
 */
import type { UIMessage } from 'ai';
import { StreamedMarkdown } from '../components/streamed-markdown.tsx';

/** Props of {@link UiMessageView}. */
export interface UiMessageViewProps {
  readonly message: UIMessage;
  /** `streaming`, `done`, `stopped` or `error` for a reply; undefined for a user message. */
  readonly outcome: string | undefined;
  readonly error: Error | undefined;
  readonly reconnecting: boolean;
}

/** The tool name of a tool part (`tool-<name>` or a dynamic tool), else undefined. */
function toolNameOf(part: UIMessage['parts'][number]): string | undefined {
  if (part.type === 'dynamic-tool') return part.toolName;
  return part.type.startsWith('tool-') ? part.type.slice('tool-'.length) : undefined;
}

function Outcome({ outcome, error, reconnecting }: Omit<UiMessageViewProps, 'message'>) {
  if (reconnecting) {
    return (
      <p className="message-meta">
        <span className="outcome outcome-reconnecting">Connection lost — reconnecting. The text so far is kept.</span>
      </p>
    );
  }
  if (outcome === 'stopped') {
    return (
      <p className="message-meta">
        <span className="outcome outcome-stopped">Stopped — the run was cancelled on the server</span>
      </p>
    );
  }
  if (outcome === 'error') {
    return (
      <p className="message-meta" role="alert">
        <span className="outcome outcome-error">Error: {error?.message ?? 'failed'}</span>
      </p>
    );
  }
  return null;
}

/**
 * Renders a message.
 *
 * @param props - the message and how it ended
 * @returns an `<article>`
 */
export function UiMessageView({ message, outcome, error, reconnecting }: UiMessageViewProps) {
  const isUser = message.role === 'user';
  const streaming = outcome === 'streaming';
  return (
    <article
      className={`message ${isUser ? 'message-user' : 'message-assistant'}${streaming ? ' is-streaming' : ''}`}
      aria-label={isUser ? 'You' : 'Assistant'}
      data-role={message.role}
      data-message-id={message.id}
      data-outcome={outcome}
    >
      <header className="message-author">{isUser ? 'You' : 'Assistant'}</header>
      {isUser ? (
        <p className="message-text">
          {message.parts.map((part) => (part.type === 'text' ? part.text : '')).join('\n')}
        </p>
      ) : (
        <div
          className="message-body"
          data-testid={streaming ? 'live-reply' : undefined}
          aria-live={streaming ? 'polite' : undefined}
        >
          {message.parts.map((part, index) => {
            const key = `${message.id}-${index}`;
            if (part.type === 'text') {
              return (
                <StreamedMarkdown
                  key={key}
                  text={part.text}
                  incomplete={streaming || outcome === 'stopped' || outcome === 'error'}
                />
              );
            }
            const tool = toolNameOf(part);
            return tool === undefined ? null : (
              <p key={key} className="message-meta">
                <span className="chip">tool</span> {tool}
              </p>
            );
          })}
        </div>
      )}
      {isUser ? null : <Outcome outcome={outcome} error={error} reconnecting={reconnecting} />}
    </article>
  );
}
