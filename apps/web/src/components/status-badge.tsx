/**
 * The stream's state in words: connecting, streaming, reconnecting (and from where), stopped,
 * done, error. A polite live region, so screen readers hear state changes but not every token.
 *
 * @module
 */

/** The hook's stream states. */
export type StreamStatus = 'idle' | 'connecting' | 'streaming' | 'reconnecting' | 'done' | 'stopped' | 'error';

/** Props of {@link StatusBadge}. */
export interface StatusBadgeProps {
  readonly status: StreamStatus;
  /** The event id the stream resumes (or resumed) after. */
  readonly resumedFrom: number | undefined;
}

/**
 * Words for a status.
 *
 * @param status - the stream state
 * @param resumedFrom - where a resume continued, if it did
 * @returns a short label
 */
export function describeStatus(status: StreamStatus, resumedFrom: number | undefined): string {
  switch (status) {
    case 'idle':
      return 'Ready';
    case 'connecting':
      return resumedFrom === undefined ? 'Connecting…' : `Resuming after event #${resumedFrom}…`;
    case 'streaming':
      return resumedFrom === undefined ? 'Streaming' : `Streaming · resumed after event #${resumedFrom}`;
    case 'reconnecting':
      return resumedFrom === undefined ? 'Reconnecting…' : `Reconnecting · resuming after event #${resumedFrom}`;
    case 'done':
      return 'Done';
    case 'stopped':
      return 'Stopped';
    case 'error':
      return 'Error';
  }
}

/**
 * Renders the badge.
 *
 * @param props - status and resume point
 * @returns a `role="status"` element
 */
export function StatusBadge({ status, resumedFrom }: StatusBadgeProps) {
  return (
    <output className={`status status-${status}`} aria-live="polite" data-status={status}>
      <span className="status-dot" aria-hidden="true" />
      <span className="status-text">{describeStatus(status, resumedFrom)}</span>
    </output>
  );
}
