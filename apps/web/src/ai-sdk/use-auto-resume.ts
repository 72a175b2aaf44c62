/**
 * Reconnects `useChat` after a dropped connection, as the main page's hook does: the SDK resumes
 * on its own only when the page becomes visible again, so while it stays visible a network
 * failure would leave the chat in `error`. On such a failure this calls `resumeStream()` with
 * capped, jittered backoff; the server replays the reply from its start and the SDK rebuilds the
 * same message (exact text, once).
 *
 * @module
 */
import type { ChatStatus } from 'ai';
import { useEffect, useRef } from 'react';
import { createBackoff } from 'streamwell/client';

/** Retries after one drop before the error is shown as final. */
const MAX_ATTEMPTS = 8;
const backoff = createBackoff({ initialDelayMs: 300, maxDelayMs: 5000 });

/** A network failure (the SDK passes fetch's own `TypeError` through), not a reply's `error`. */
function isNetworkFailure(error: Error | undefined): boolean {
  return error instanceof TypeError;
}

/**
 * Resumes the chat after network failures.
 *
 * @param status - `useChat`'s status
 * @param error - `useChat`'s error
 * @param resume - starts a resume (`resumeStream`, plus whatever the page records)
 * @returns whether a reconnect is pending or running (decided while rendering, so the failure
 *   never shows as a final error for a frame before the retry is scheduled)
 */
export function useAutoResume(status: ChatStatus, error: Error | undefined, resume: () => void): boolean {
  const attempts = useRef(0);
  const resumeRef = useRef(resume);
  resumeRef.current = resume;
  const dropped = status === 'error' && isNetworkFailure(error);

  useEffect(() => {
    if (status === 'streaming') attempts.current = 0;
    if (!dropped || attempts.current >= MAX_ATTEMPTS) return;
    attempts.current += 1;
    const timer = setTimeout(() => resumeRef.current(), backoff.delay(attempts.current));
    return () => clearTimeout(timer);
  }, [status, dropped]);

  return dropped && attempts.current < MAX_ATTEMPTS;
}
