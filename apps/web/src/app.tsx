/**
 * The reference chat page: threads, a streamed markdown reply, its state, a latency panel, the
 * demo banner and the transport switch, all driven by `useStreamingResponse` from streamwell.
 *
 * @module
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { useStreamingResponse } from 'streamwell/react';
import { createLocalId, useChatState } from './chat/use-chat-state.ts';
import { useServerThreads } from './chat/use-server-threads.ts';
import { Composer } from './components/composer.tsx';
import { DemoBanner } from './components/demo-banner.tsx';
import { DiagnoseSlot } from './components/diagnose-slot.tsx';
import { LatencyPanel } from './components/latency-panel.tsx';
import { type LiveReply, MessageList } from './components/message-list.tsx';
import { StatusBadge } from './components/status-badge.tsx';
import { ThreadList } from './components/thread-list.tsx';
import { type Transport, TransportToggle } from './components/transport-toggle.tsx';

/** Whether the WebSocket transport can be chosen (`GET /ws/stream` on the same origin). */
export const WEBSOCKET_TRANSPORT_AVAILABLE = true;

/** Slow-token threshold shown in the panel and used by the hook. */
const SLOW_TOKEN_MS = 1000;

const TRANSPORT_KEY = 'streamwell:web:transport';

function loadTransport(): Transport {
  try {
    return WEBSOCKET_TRANSPORT_AVAILABLE && sessionStorage.getItem(TRANSPORT_KEY) === 'ws' ? 'ws' : 'sse';
  } catch {
    return 'sse';
  }
}

const isActive = (status: string): boolean =>
  status === 'connecting' || status === 'streaming' || status === 'reconnecting';

/**
 * The page. The hook reads its options once, so a transport change mounts a fresh chat view
 * (the switch is disabled while a reply streams; threads live in sessionStorage and carry over).
 *
 * @returns the whole app
 */
export function App() {
  const [transport, setTransport] = useState<Transport>(loadTransport);
  const changeTransport = (next: Transport): void => {
    setTransport(next);
    try {
      sessionStorage.setItem(TRANSPORT_KEY, next);
    } catch {
      // Not remembered across reloads; nothing else depends on it.
    }
  };
  return <ChatApp key={transport} transport={transport} onTransportChange={changeTransport} />;
}

/** The message of a reply whose stream could not be found again after a reload. */
const LOST_REPLY = {
  code: 'aborted',
  message: 'The page was reloaded before the reply had started, so there was no stream to resume.',
};

function ChatApp({
  transport,
  onTransportChange,
}: {
  transport: Transport;
  onTransportChange: (next: Transport) => void;
}) {
  const [chat, dispatch] = useChatState();
  const server = useServerThreads(chat, dispatch);
  const [menuOpen, setMenuOpen] = useState(false);
  const menuButton = useRef<HTMLButtonElement>(null);
  const [diagnoseOpen, setDiagnoseOpen] = useState(false);
  // The last event id seen, so that "Reconnecting" can say where it will resume from. A ref, not
  // state: it changes on every event, and the status change to `reconnecting` renders anyway.
  const lastEventId = useRef<number | undefined>(undefined);
  const stream = useStreamingResponse({
    transport,
    slowTokenMs: SLOW_TOKEN_MS,
    onEvent: (event) => {
      lastEventId.current = event.id;
    },
  });
  const resumePoint =
    stream.status === 'reconnecting' ? (lastEventId.current ?? stream.resumedFrom) : stream.resumedFrom;
  const active = isActive(stream.status);
  const pending = chat.pending;
  const latestStatus = useRef(stream.status);
  latestStatus.current = stream.status;

  // After a reload the hook resumes a saved stream on mount. A reply that was pending but has no
  // stream to resume (the reload came before its `start` event) would wait forever: end it.
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs once, on mount.
  useEffect(() => {
    if (chat.pending === undefined) return;
    const timer = setTimeout(() => {
      if (latestStatus.current === 'idle') dispatch({ type: 'finish', text: '', outcome: 'error', error: LOST_REPLY });
    }, 0);
    return () => clearTimeout(timer);
  }, []);
  // Between Send and the hook reporting the new stream, the hook may still show the previous
  // reply's terminal status; that status must not finish the new reply. Any change of status,
  // error or stream id after Send means the hook has taken the new stream on.
  const atSend = useRef<{ status: string; error: unknown; streamId: string | undefined } | undefined>(undefined);
  const seenAtSend = atSend.current;
  if (
    seenAtSend !== undefined &&
    (active ||
      seenAtSend.status !== stream.status ||
      seenAtSend.error !== stream.error ||
      seenAtSend.streamId !== stream.streamId)
  ) {
    atSend.current = undefined;
  }

  // The server assigns the thread id of a new conversation in its `start` event.
  useEffect(() => {
    if (pending !== undefined && stream.threadId !== undefined) {
      dispatch({ type: 'bind-server-thread', threadId: pending.threadId, serverThreadId: stream.threadId });
    }
  }, [pending, stream.threadId, dispatch]);

  // When the reply ends, its text moves from the hook into the thread, once.
  useEffect(() => {
    if (pending === undefined || atSend.current !== undefined) return;
    if (stream.status !== 'done' && stream.status !== 'stopped' && stream.status !== 'error') return;
    dispatch({
      type: 'finish',
      text: stream.response,
      outcome: stream.status,
      ...(stream.error === undefined ? {} : { error: { code: stream.error.code, message: stream.error.message } }),
      ...(stream.streamId === undefined ? {} : { streamId: stream.streamId }),
      ...(stream.resumedFrom === undefined ? {} : { resumedFrom: stream.resumedFrom }),
      demo: stream.demo,
    });
  }, [
    pending,
    stream.status,
    stream.response,
    stream.error,
    stream.streamId,
    stream.resumedFrom,
    stream.demo,
    dispatch,
  ]);

  const send = useCallback(
    (message: string) => {
      const thread = chat.threads.find((candidate) => candidate.id === chat.activeThreadId);
      atSend.current = { status: stream.status, error: stream.error, streamId: stream.streamId };
      lastEventId.current = undefined;
      dispatch({
        type: 'send',
        text: message,
        userMessageId: createLocalId(),
        replyMessageId: createLocalId(),
        now: Date.now(),
      });
      stream.startStream(message, thread?.serverThreadId === undefined ? {} : { threadId: thread.serverThreadId });
    },
    [chat.threads, chat.activeThreadId, dispatch, stream.startStream, stream.status, stream.error, stream.streamId],
  );

  const thread = chat.threads.find((candidate) => candidate.id === chat.activeThreadId) ?? chat.threads[0];
  const live: LiveReply | undefined =
    pending === undefined
      ? undefined
      : {
          messageId: pending.messageId,
          text: stream.response,
          status: stream.status,
          resumedFrom: resumePoint,
          demo: stream.demo,
        };

  return (
    // biome-ignore lint/a11y/noStaticElementInteractions: Escape closes the thread drawer from anywhere inside it.
    <div
      className={menuOpen ? 'app menu-open' : 'app'}
      onKeyDown={(event) => {
        if (event.key === 'Escape' && menuOpen) {
          setMenuOpen(false);
          menuButton.current?.focus();
        }
      }}
    >
      {/* biome-ignore lint/a11y/useValidAnchor: a skip link is in-page navigation; the handler only makes the focus move reliable. */}
      <a
        className="skip-link"
        href="#message"
        onClick={(event) => {
          // Fragment navigation does not always move the focus into the textarea: do it here.
          event.preventDefault();
          document.getElementById('message')?.focus();
        }}
      >
        Skip to message box
      </a>
      <aside className="sidebar" id="sidebar">
        <div className="brand">
          <span className="brand-mark" aria-hidden="true" />
          streamwell
        </div>
        <ThreadList
          threads={chat.threads}
          activeThreadId={chat.activeThreadId}
          busyThreadId={pending?.threadId}
          problem={server.problem}
          onSelect={(threadId) => {
            server.openThread(threadId);
            setMenuOpen(false);
          }}
          onDelete={(threadId) => {
            void server.deleteThread(threadId);
          }}
          onNew={() => {
            dispatch({ type: 'new-thread', id: createLocalId(), now: Date.now() });
            setMenuOpen(false);
          }}
        />
      </aside>
      <main className="chat">
        <header className="chat-header">
          <button
            ref={menuButton}
            type="button"
            className="button button-icon menu-button"
            aria-expanded={menuOpen}
            aria-controls="sidebar"
            onClick={() => setMenuOpen((open) => !open)}
          >
            <span aria-hidden="true">☰</span>
            <span className="visually-hidden">Threads</span>
          </button>
          <h1 className="chat-title">{thread?.title ?? 'New conversation'}</h1>
          <StatusBadge status={stream.status} resumedFrom={resumePoint} />
          <TransportToggle
            value={transport}
            onChange={onTransportChange}
            webSocketAvailable={WEBSOCKET_TRANSPORT_AVAILABLE}
            disabled={active}
          />
        </header>
        {stream.demo ? <DemoBanner /> : null}
        {thread === undefined ? null : (
          <MessageList
            thread={thread}
            live={live !== undefined && pending?.threadId === thread.id ? live : undefined}
          />
        )}
        <Composer busy={active || pending !== undefined} onSend={send} onStop={stream.stopStream} />
      </main>
      <aside className={diagnoseOpen ? 'insights diagnose-open' : 'insights'} aria-label="Stream details">
        <LatencyPanel metrics={stream.metrics} />
        {/* The "Diagnose" panel (apps/web/src/components/diagnose-panel.tsx) renders here when present;
            on a phone it folds behind this button to leave room for the conversation. */}
        <DiagnoseSlot open={diagnoseOpen} onToggle={() => setDiagnoseOpen((open) => !open)} />
      </aside>
    </div>
  );
}
