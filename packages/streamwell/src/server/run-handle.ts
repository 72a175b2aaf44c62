/**
 * The run handle: what the registry returns for a stream, whether this process produces the run
 * ({@link Run}) or another instance does (a remote run read from a shared store). Transports
 * only need this much of a run; they attach and cancel through the registry.
 *
 * @module
 */
import type { RunStatus } from './run.ts';

/** A run as every transport sees it, local or remote. */
export interface RunHandle {
  /** The stream id. */
  readonly id: string;
  readonly threadId: string;
  /** The principal that started the run; only it may resume or cancel. */
  readonly owner: string | undefined;
  /** True when this process produces the run. */
  readonly local: boolean;
  /** `running` until the terminal event, then the final status (a remote run: as last read). */
  readonly status: RunStatus;
  /** The terminal outcome: finish reason for `done`, error code for `error`; '' while running. */
  readonly outcome: string;
  /** Tokens so far (a remote run: known once it has ended, else 0). */
  readonly tokens: number;
  /**
   * Id of the newest event. A remote run that is still running may already have newer events
   * than this (it was read when the handle was made).
   */
  readonly lastEventId: number;
  /** Length of the answer's text so far (a remote run: known once it has ended, else 0). */
  readonly textLength: number;
}
