'use client';
/**
 * `useStreamingResponse`: the troubleshooting guide's hook (`{response, isStreaming,
 * startStream, stopStream}`), done right. A thin binding over the framework-free
 * {@link createStreamStore}:
 *
 * - state comes through `useSyncExternalStore`, so it renders at most once per animation frame
 *   however fast tokens arrive;
 * - it aborts on unmount and when a new stream starts, and leaks no listener or timer;
 * - `stopStream` cancels the run on the server (and with it the model call), not just the fetch;
 * - after a page reload it resumes an unfinished stream (its id is kept in sessionStorage until
 *   the terminal event).
 *
 * @module
 */
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';
import {
  type ClientMetricsSnapshot,
  createStreamStore,
  type StreamEvent,
  type StreamStorage,
  type StreamStore,
  type StreamStoreStatus,
  type StreamwellError,
} from '../client/index.ts';

/** Options of {@link useStreamingResponse}. Read once, when the component mounts. */
export interface UseStreamingResponseOptions {
  /** Start endpoint. @defaultValue '/api/stream/message' */
  url?: string;
  /** Resume URL of a stream. @defaultValue `/api/streams/{id}` next to `url` */
  resumeUrl?: (streamId: string) => string;
  /** Cancel URL of a stream. @defaultValue `/api/streams/{id}/cancel` next to `url` */
  cancelUrl?: (streamId: string) => string;
  /** Extra headers on every request (for example `Authorization`). */
  headers?: Record<string, string>;
  /** @defaultValue globalThis.fetch */
  fetch?: typeof fetch;
  /** sessionStorage key for reload-resume; `false` turns it off. @defaultValue 'streamwell:active-stream' */
  persistKey?: string | false;
  /** `sse` (default) or `ws` (WebSocket to `wsUrl`). */
  transport?: 'sse' | 'ws';
  /** WebSocket endpoint for `transport: 'ws'`. */
  wsUrl?: string;
  /** A gap between tokens longer than this counts as slow. @defaultValue 1000 */
  slowTokenMs?: number;
  /** Every protocol event as it arrives (not batched); the latest function is always used. */
  onEvent?: (event: StreamEvent) => void;
}

/** What {@link useStreamingResponse} returns. */
export interface UseStreamingResponseResult {
  /** The reply text so far (kept after a stop or an error). */
  response: string;
  isStreaming: boolean;
  status: StreamStoreStatus;
  error: StreamwellError | undefined;
  metrics: ClientMetricsSnapshot;
  streamId: string | undefined;
  threadId: string | undefined;
  /** True when the built-in demo model answers. */
  demo: boolean;
  /** The last event id a reconnect (or a reload) resumed from. */
  resumedFrom: number | undefined;
  /** Sends a message and streams the reply (aborting any current stream). Stable. */
  startStream(message: string, options?: { threadId?: string }): void;
  /** Stops the current reply on the server. Stable. */
  stopStream(): void;
  /** Follows a stream: the current one, the given id, or the one saved before a reload. Stable. */
  resume(streamId?: string): void;
  /** Stops and clears back to `idle`. Stable. */
  reset(): void;
}

/**
 * Default sessionStorage key of the active stream.
 *
 * @internal
 */
export const DEFAULT_PERSIST_KEY = 'streamwell:active-stream';

function sessionStorageOrUndefined(): StreamStorage | undefined {
  try {
    // Reading `sessionStorage` throws in some sandboxed iframes; it is absent on the server.
    const storage = (globalThis as { sessionStorage?: StreamStorage }).sessionStorage;
    return storage ?? undefined;
  } catch {
    return undefined;
  }
}

function createStoreFor(options: UseStreamingResponseOptions, onEvent: (event: StreamEvent) => void): StreamStore {
  const persistKey = options.persistKey === undefined ? DEFAULT_PERSIST_KEY : options.persistKey;
  const storage = persistKey === false ? undefined : sessionStorageOrUndefined();
  return createStreamStore({
    ...(options.url === undefined ? {} : { url: options.url }),
    ...(options.resumeUrl === undefined ? {} : { resumeUrl: options.resumeUrl }),
    ...(options.cancelUrl === undefined ? {} : { cancelUrl: options.cancelUrl }),
    ...(options.headers === undefined ? {} : { headers: options.headers }),
    ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
    ...(options.transport === undefined ? {} : { transport: options.transport }),
    ...(options.wsUrl === undefined ? {} : { wsUrl: options.wsUrl }),
    ...(options.slowTokenMs === undefined ? {} : { slowTokenMs: options.slowTokenMs }),
    ...(storage === undefined || persistKey === false ? {} : { persist: { key: persistKey, storage } }),
    onEvent,
  });
}

/**
 * Streams a reply into React state.
 *
 * @param options - endpoints, headers, transport, persistence; read once on mount
 * @returns the state and stable actions
 * @example
 * const { response, isStreaming, startStream, stopStream } = useStreamingResponse();
 */
export function useStreamingResponse(options: UseStreamingResponseOptions = {}): UseStreamingResponseResult {
  // The latest onEvent, without recreating the store when the caller passes a new function.
  const onEventRef = useRef(options.onEvent);
  onEventRef.current = options.onEvent;
  const [store] = useState(() => createStoreFor(options, (event) => onEventRef.current?.(event)));
  const snapshot = useSyncExternalStore(store.subscribe, store.getSnapshot, store.getSnapshot);

  useEffect(() => {
    // Reload-resume: a stream saved by a previous page is followed again. A remount of the same
    // store (React StrictMode runs effects twice) continues its own stream the same way.
    const saved = store.persisted();
    const current = store.getSnapshot();
    if (saved !== undefined && (current.status === 'idle' || current.streamId === saved.streamId)) {
      store.resume(saved.streamId);
    }
    return () => store.dispose();
  }, [store]);

  const startStream = useCallback(
    (message: string, startOptions?: { threadId?: string }) => store.start(message, startOptions),
    [store],
  );
  const stopStream = useCallback(() => store.stop(), [store]);
  const resume = useCallback((streamId?: string) => store.resume(streamId), [store]);
  const reset = useCallback(() => store.reset(), [store]);

  return { ...snapshot, startStream, stopStream, resume, reset };
}
