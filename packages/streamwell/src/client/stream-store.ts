/**
 * A framework-free store over the stream client, for `useSyncExternalStore` (React) or any
 * other UI: `subscribe` / `getSnapshot` with immutable snapshots.
 *
 * - Tokens can arrive far faster than a screen refreshes, so stream updates are batched: at
 *   most one snapshot (and one notification) per animation frame, or per 16 ms where there is
 *   no `requestAnimationFrame`. User actions (start, stop, resume, reset) publish at once.
 * - One stream at a time: starting a new one aborts the previous one and cancels its run.
 * - `stop` cancels the run on the server, so the model stops too.
 * - With `persist`, the stream id, last event id and thread id are kept (sessionStorage in
 *   browsers) until the terminal event, so a reloaded page can `resume()` the stream.
 * - `dispose` aborts the connection locally (the server keeps the run for its grace period, so a
 *   reload can resume it) and clears every timer and listener.
 *
 * @module
 */
import type { StreamwellError } from '../errors/index.ts';
import type { StreamEvent } from '../protocol/index.ts';
import { type ClientMetricsSnapshot, EMPTY_CLIENT_METRICS } from './client-metrics.ts';
import { createStreamClient, type StreamClient, type StreamClientOptions } from './stream-client.ts';
import type { StreamSession, StreamStatus } from './stream-session.ts';
import type { StreamTransport } from './stream-transport.ts';
import { createWsTransport } from './ws-transport.ts';

/** Status of the store: a stream's status, or `idle` before the first one. */
export type StreamStoreStatus = 'idle' | StreamStatus;

/** What a UI renders. A new object whenever anything changed; the same object otherwise. */
export interface StreamSnapshot {
  /** The reply text so far (kept after a stop or an error). */
  readonly response: string;
  /** True while connecting, streaming or reconnecting. */
  readonly isStreaming: boolean;
  readonly status: StreamStoreStatus;
  readonly error: StreamwellError | undefined;
  readonly metrics: ClientMetricsSnapshot;
  readonly streamId: string | undefined;
  readonly threadId: string | undefined;
  /** True when the built-in demo model answers: label the reply as a demo. */
  readonly demo: boolean;
  /** The last event id a reconnect (or a reload) resumed from. */
  readonly resumedFrom: number | undefined;
}

/** The subset of `Storage` the store uses. */
export interface StreamStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

/** What is persisted for reload-resume. */
export interface PersistedStream {
  readonly streamId: string;
  readonly lastEventId: number | undefined;
  readonly threadId: string | undefined;
}

/** Options of {@link createStreamStore}. */
export interface StreamStoreOptions extends Omit<StreamClientOptions, 'transport'> {
  /**
   * `sse` (default), `ws` (WebSocket, to `wsUrl`), or a transport object.
   */
  readonly transport?: 'sse' | 'ws' | StreamTransport;
  /** WebSocket endpoint for `transport: 'ws'`. @defaultValue `/ws/stream` on the page's host */
  readonly wsUrl?: string;
  /** Every new protocol event, as it arrives (not batched). */
  readonly onEvent?: (event: StreamEvent) => void;
  /** Where to persist the active stream; omit to not persist. */
  readonly persist?: { readonly key: string; readonly storage: StreamStorage };
  /**
   * Schedules a batched publish. @defaultValue requestAnimationFrame, else setTimeout(16)
   * @returns a function that cancels it
   */
  readonly scheduleFlush?: (callback: () => void) => () => void;
}

/** The store. */
export interface StreamStore {
  subscribe(listener: () => void): () => void;
  getSnapshot(): StreamSnapshot;
  /** Starts a stream (aborting the current one). */
  start(message: string, options?: { threadId?: string }): void;
  /** Stops the current stream on the server. */
  stop(): void;
  /**
   * Follows a stream: by default the current one (from its last event id), else the persisted one
   * (from its start, since a reloaded page has lost the text).
   */
  resume(streamId?: string): void;
  /** Stops (on the server) and clears everything back to `idle`. */
  reset(): void;
  /** The persisted stream, if any. */
  persisted(): PersistedStream | undefined;
  /** Aborts locally and clears timers; the store can still be used afterwards. */
  dispose(): void;
}

const IDLE: StreamSnapshot = Object.freeze({
  response: '',
  isStreaming: false,
  status: 'idle',
  error: undefined,
  metrics: EMPTY_CLIENT_METRICS,
  streamId: undefined,
  threadId: undefined,
  demo: false,
  resumedFrom: undefined,
});

function defaultScheduleFlush(callback: () => void): () => void {
  const frame = globalThis.requestAnimationFrame;
  if (typeof frame === 'function') {
    const handle = frame(() => callback());
    return () => globalThis.cancelAnimationFrame(handle);
  }
  const timer = setTimeout(callback, 16);
  return () => clearTimeout(timer);
}

function resolveTransport(options: StreamStoreOptions): StreamTransport | undefined {
  const transport = options.transport;
  if (transport === undefined || transport === 'sse') return undefined;
  // The WebSocket transport has the same StreamTransport interface: the session is unchanged.
  if (transport === 'ws') return createWsTransport(options.wsUrl === undefined ? {} : { url: options.wsUrl });
  return transport;
}

function readPersisted(persist: StreamStoreOptions['persist']): PersistedStream | undefined {
  if (persist === undefined) return undefined;
  try {
    const raw = persist.storage.getItem(persist.key);
    if (raw === null) return undefined;
    const value = JSON.parse(raw) as Partial<PersistedStream>;
    if (typeof value.streamId !== 'string' || value.streamId === '') return undefined;
    return {
      streamId: value.streamId,
      lastEventId: typeof value.lastEventId === 'number' ? value.lastEventId : undefined,
      threadId: typeof value.threadId === 'string' ? value.threadId : undefined,
    };
  } catch {
    return undefined;
  }
}

/**
 * Creates a stream store.
 *
 * @param options - client options, transport choice, persistence and batching
 * @returns the store
 * @example
 * const store = createStreamStore({ url: '/api/stream/message' });
 * store.subscribe(() => render(store.getSnapshot()));
 * store.start('Hello');
 */
export function createStreamStore(options: StreamStoreOptions = {}): StreamStore {
  const { transport: _choice, wsUrl: _wsUrl, onEvent: _onEvent, persist: _persist, ...clientOptions } = options;
  const transport = resolveTransport(options);
  const client: StreamClient = createStreamClient({
    ...clientOptions,
    ...(transport === undefined ? {} : { transport }),
  });
  const scheduleFlush = options.scheduleFlush ?? defaultScheduleFlush;
  const persist = options.persist;
  const listeners = new Set<() => void>();
  let snapshot: StreamSnapshot = IDLE;
  let session: StreamSession | undefined;
  let reloadResumedFrom: number | undefined;
  let cancelFlush: (() => void) | undefined;

  let savedAt = Number.NEGATIVE_INFINITY;
  let savedStreamId: string | undefined;

  function save(current: StreamSession, force = false): void {
    if (persist === undefined || current.streamId === undefined) return;
    // Storage writes are synchronous: while tokens flow, refresh the saved cursor once a second
    // (it only tells a reloaded page where it had stopped; the replay starts from the top).
    const now = Date.now();
    if (!force && current.streamId === savedStreamId && now - savedAt < 1000) return;
    savedAt = now;
    savedStreamId = current.streamId;
    const record: PersistedStream = {
      streamId: current.streamId,
      lastEventId: current.lastEventId,
      threadId: current.threadId,
    };
    try {
      persist.storage.setItem(persist.key, JSON.stringify(record));
    } catch {
      // Storage full or disabled (private mode): resume after reload just will not happen.
    }
  }

  function forget(): void {
    savedStreamId = undefined;
    try {
      persist?.storage.removeItem(persist.key);
    } catch {
      // As above.
    }
  }

  function publish(): void {
    if (cancelFlush !== undefined) cancelFlush();
    cancelFlush = undefined;
    const current = session;
    if (current === undefined) {
      snapshot = IDLE;
    } else {
      const status = current.status;
      const final = status === 'done' || status === 'stopped' || status === 'error';
      if (!final) save(current);
      snapshot = Object.freeze({
        response: current.text,
        isStreaming: !final,
        status,
        error: current.error,
        metrics: current.metrics,
        streamId: current.streamId,
        threadId: current.threadId,
        demo: current.demo,
        resumedFrom: current.resumedFrom ?? reloadResumedFrom,
      });
    }
    for (const listener of [...listeners]) listener();
  }

  function schedule(): void {
    if (cancelFlush === undefined) cancelFlush = scheduleFlush(publish);
  }

  function callbacksFor(owner: () => StreamSession | undefined) {
    const mine = (): boolean => owner() === session;
    return {
      onEvent: (event: StreamEvent) => {
        if (!mine()) return;
        options.onEvent?.(event);
        if (event.event === 'start') {
          save(session as StreamSession, true);
        } else if (event.event === 'done' || event.event === 'error') {
          // Cleared at the terminal event, so a reload never resumes a finished stream.
          forget();
        }
        schedule();
      },
      onStatus: () => {
        if (mine()) schedule();
      },
      onStreamId: () => {
        if (mine()) save(session as StreamSession, true);
      },
      onReconnect: () => {
        if (mine()) schedule();
      },
    };
  }

  function replace(
    next: (callbacks: ReturnType<typeof callbacksFor>) => StreamSession,
    previousRun: 'cancel' | 'keep',
  ): void {
    const previous = session;
    session = undefined;
    // A new message abandons the previous reply: stop its run too (no unseen model bills). A
    // resume of the same run only drops the old connection.
    if (previous !== undefined && previousRun === 'cancel' && !isFinal(previous.status)) void previous.cancel();
    else previous?.abort();
    let created: StreamSession | undefined;
    const callbacks = callbacksFor(() => created);
    created = next(callbacks);
    session = created;
    publish();
  }

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    getSnapshot: () => snapshot,
    start(message, startOptions = {}) {
      reloadResumedFrom = undefined;
      forget();
      replace(
        (callbacks) =>
          client.start(message, {
            ...callbacks,
            ...(startOptions.threadId === undefined ? {} : { threadId: startOptions.threadId }),
          }),
        'cancel',
      );
    },
    stop() {
      const current = session;
      if (current === undefined) return;
      forget();
      void current.cancel();
      publish();
    },
    resume(streamId) {
      const current = session;
      const persisted = readPersisted(persist);
      const target = streamId ?? current?.streamId ?? persisted?.streamId;
      if (target === undefined) return;
      if (current !== undefined && current.streamId === target) {
        // Same page, same stream: continue after what is already shown.
        const after = current.lastEventId;
        const text = current.text;
        replace(
          (callbacks) => client.resume(target, { ...callbacks, ...(after === undefined ? {} : { after }), text }),
          'keep',
        );
        return;
      }
      // A reloaded page has no text: replay the run from its start; show where it had stopped.
      reloadResumedFrom = persisted?.streamId === target ? persisted.lastEventId : undefined;
      replace((callbacks) => client.resume(target, callbacks), 'keep');
    },
    reset() {
      const current = session;
      session = undefined;
      reloadResumedFrom = undefined;
      forget();
      if (current !== undefined && !isFinal(current.status)) void current.cancel();
      publish();
    },
    persisted: () => readPersisted(persist),
    dispose() {
      if (cancelFlush !== undefined) cancelFlush();
      cancelFlush = undefined;
      const current = session;
      // Aborted locally only: the run lives on for the server's grace period, so a reload (or a
      // StrictMode remount) can resume it. The persisted record stays for the same reason.
      if (current !== undefined && !isFinal(current.status)) {
        session = undefined;
        current.abort();
        session = current;
      }
    },
  };
}

function isFinal(status: StreamStatus): boolean {
  return status === 'done' || status === 'stopped' || status === 'error';
}
