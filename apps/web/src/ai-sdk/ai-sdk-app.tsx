/**
 * The `/ai-sdk` page: a plain Vercel AI SDK chat (`useChat` from `@ai-sdk/react`,
 * `DefaultChatTransport` from `ai`) talking to streamwell's `/api/chat`. The only streamwell
 * piece is the transport's `fetch` (`createChatFetch`), which makes Stop cancel the run on the
 * server. Messages are kept in sessionStorage, and the page resumes on mount (what `resume: true`
 * does, called here so the page knows when that resume has settled: a saved reply that was
 * streaming shows as such until then); after a dropped connection it resumes with backoff, like
 * the main page.
 *
 * @module
 */
import { useChat } from '@ai-sdk/react';
import { type ChatStatus, DefaultChatTransport, type UIMessage } from 'ai';
import { useEffect, useRef, useState } from 'react';
import { createChatFetch } from 'streamwell/client';
import { Composer } from '../components/composer.tsx';
import { DemoBanner } from '../components/demo-banner.tsx';
import { StatusBadge, type StreamStatus } from '../components/status-badge.tsx';
import { loadChat, newChat, type SavedChat, saveChat } from './saved-chat.ts';
import { UiMessageView } from './ui-message-view.tsx';
import { useAutoResume } from './use-auto-resume.ts';

const chatFetch = createChatFetch({ api: '/api/chat' });
const transport = new DefaultChatTransport<UIMessage>({ api: '/api/chat', fetch: chatFetch });

function badgeStatus(
  status: ChatStatus,
  reconnecting: boolean,
  resuming: boolean,
  stopped: boolean,
  hasReply: boolean,
): StreamStatus {
  if (reconnecting) return 'reconnecting';
  if (status === 'submitted' || resuming) return 'connecting';
  if (status === 'streaming') return 'streaming';
  if (status === 'error') return 'error';
  if (stopped) return 'stopped';
  return hasReply ? 'done' : 'idle';
}

/**
 * The page: a fresh chat view per chat id.
 *
 * @returns the page
 */
export function AiSdkApp() {
  const [initial, setInitial] = useState<SavedChat>(loadChat);
  return (
    <AiSdkChat
      key={initial.id}
      initial={initial}
      onNewChat={() => {
        const fresh = newChat();
        saveChat(fresh);
        setInitial(fresh);
      }}
    />
  );
}

function AiSdkChat({ initial, onNewChat }: { initial: SavedChat; onNewChat: () => void }) {
  const { messages, sendMessage, stop, status, error, resumeStream } = useChat({
    id: initial.id,
    messages: initial.messages,
    transport,
    // At most one render per 50 ms while tokens arrive.
    experimental_throttle: 50,
  });
  // A reply saved mid-stream (a reload) shows as streaming until the resume on mount settles.
  const [resuming, setResuming] = useState(initial.inProgress);
  const [stopped, setStopped] = useState<readonly string[]>(initial.stopped);
  const [demo, setDemo] = useState(false);
  // True while the reply on screen comes from a resume GET, whose abort alone would not stop the
  // run on the server (see createChatFetch).
  const resumed = useRef(true);
  const reconnecting = useAutoResume(status, error, () => {
    resumed.current = true;
    void resumeStream();
  });

  // The SDK's `resume: true`, by hand: GET /api/chat/{id}/stream replays a running reply, 204 says
  // there is none. A remount (StrictMode) aborts the first call; only the last one settles it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: once per chat, on mount.
  useEffect(() => {
    let current = true;
    resumed.current = true;
    resumeStream().finally(() => {
      if (current) setResuming(false);
    });
    return () => {
      current = false;
    };
  }, []);

  const busy = status === 'submitted' || status === 'streaming' || reconnecting || resuming;

  useEffect(() => {
    saveChat({ id: initial.id, messages, stopped: [...stopped], inProgress: busy });
  }, [initial.id, messages, stopped, busy]);

  useEffect(() => {
    const controller = new AbortController();
    fetch('/healthz', { signal: controller.signal })
      .then((response) => response.json() as Promise<{ demo?: boolean }>)
      .then((health) => setDemo(health.demo === true))
      .catch(() => {});
    return () => controller.abort();
  }, []);

  const last = messages[messages.length - 1];
  const lastReplyId = last?.role === 'assistant' ? last.id : undefined;

  function outcomeOf(message: UIMessage): string | undefined {
    if (message.role !== 'assistant') return undefined;
    if (stopped.includes(message.id)) return 'stopped';
    if (message.id !== lastReplyId) return 'done';
    if (busy) return 'streaming';
    return status === 'error' ? 'error' : 'done';
  }

  return (
    <div className="app app-single">
      <main className="chat">
        <header className="chat-header">
          <h1 className="chat-title">AI SDK useChat on streamwell</h1>
          <StatusBadge
            status={badgeStatus(
              status,
              reconnecting,
              resuming,
              lastReplyId !== undefined && stopped.includes(lastReplyId),
              lastReplyId !== undefined,
            )}
            resumedFrom={undefined}
          />
          <button type="button" className="button button-secondary" onClick={onNewChat} disabled={busy}>
            New chat
          </button>
          <a className="button button-secondary" href="/">
            Main page
          </a>
        </header>
        {demo ? <DemoBanner /> : null}
        <section className="messages" aria-label="Conversation">
          {messages.length === 0 ? (
            <div className="empty">
              <h2>useChat, unchanged</h2>
              <p>
                This page is a plain <code>@ai-sdk/react</code> chat. Replies stream from streamwell runs: press{' '}
                <strong>Stop</strong> to cancel the model on the server, or reload mid-reply to pick it up again.
              </p>
            </div>
          ) : (
            messages.map((message) => (
              <UiMessageView
                key={message.id}
                message={message}
                outcome={outcomeOf(message)}
                error={message.id === lastReplyId && status === 'error' && !reconnecting ? error : undefined}
                reconnecting={message.id === lastReplyId && reconnecting}
              />
            ))
          )}
          {status === 'error' && !reconnecting && lastReplyId === undefined ? (
            <p className="message-meta" role="alert">
              <span className="outcome outcome-error">Error: {error?.message ?? 'failed'}</span>
            </p>
          ) : null}
        </section>
        <Composer
          busy={busy}
          onSend={(text) => {
            resumed.current = false;
            void sendMessage({ text });
          }}
          onStop={() => {
            // A POST's abort reaches the server through createChatFetch; a resumed reply is
            // cancelled explicitly.
            if (resumed.current) void chatFetch.cancel(initial.id);
            if (lastReplyId !== undefined) setStopped((ids) => [...ids, lastReplyId]);
            void stop();
          }}
        />
      </main>
    </div>
  );
}
