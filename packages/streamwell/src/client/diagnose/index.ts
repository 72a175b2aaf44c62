/**
 * The diagnosis building blocks shared by `streamwell doctor` and {@link diagnoseEndpoint}:
 * the check result shape, the stream recorder, and the pure evaluations. Barrel only.
 *
 * @module
 */

export {
  type CheckResult,
  type CheckStatus,
  createCheckResult,
  createDiagnosisReport,
  type DiagnosisReport,
} from './check-result.ts';
export { classifyTerminal, extractToken, type TerminalSignal } from './classify-event.ts';
export { createStreamRecorder, type RecorderOptions, type StreamRecorder } from './create-stream-recorder.ts';
export { evaluateBuffering } from './evaluate-buffering.ts';
export { evaluateEvents } from './evaluate-events.ts';
export { DEFAULT_PROXY_IDLE_TIMEOUT_MS, evaluateHeartbeats } from './evaluate-heartbeats.ts';
export { evaluateContentType, evaluateHeaders, evaluateReachable } from './evaluate-response.ts';
export { type ComparableEvent, evaluateResume, pickResumeCursor, type ResumeAttempt } from './evaluate-resume.ts';
export { evaluateTerminal } from './evaluate-terminal.ts';
export { evaluateTiming } from './evaluate-timing.ts';
export type {
  ObservedComment,
  ObservedEvent,
  ObservedRead,
  StreamEndReason,
  StreamObservation,
} from './stream-observation.ts';
