/**
 * Fixes for the terminal error codes of protocol v1 (and common ones of other servers), so a
 * stream that failed says what to change.
 *
 * @module
 */

const FIXES: Readonly<Record<string, string>> = {
  first_token_timeout:
    'The model produced no token within FIRST_TOKEN_TIMEOUT_MS: run `streamwell doctor --provider` on the server to check key, model and streaming; raise the timeout for slow models.',
  idle_timeout:
    'The model went silent mid-reply for IDLE_TIMEOUT_MS: check the upstream model server, or raise the timeout.',
  stream_timeout: 'The reply exceeded STREAM_TIMEOUT_MS: raise it for long replies, or ask for shorter ones.',
  upstream_auth:
    'The model provider refused the API key: check OPENAI_API_KEY / LLM_API_KEY, and run `streamwell doctor --provider`.',
  upstream_error:
    'The model request failed: the message names the status and URL; run `streamwell doctor --provider` on the server.',
  retention_exceeded: 'The reply outgrew the per-run retention cap: raise it or ask for shorter replies.',
  abandoned:
    'No client stayed connected for DISCONNECT_GRACE_MS, so the run stopped: resume sooner or raise the grace.',
  server_shutdown:
    // The run itself ended: a resume anywhere replays the same ending, so the advice is to send
    // again or to give drains longer (test/reliability/drain.test.ts).
    'The server shut down before the reply ended (SHUTDOWN_DEADLINE_MS passed): the text so far is kept but the reply cannot continue, not even on another instance; send the message again, or raise SHUTDOWN_DEADLINE_MS above your longest replies.',
  internal_error: 'A server bug: the server log has the details under this stream id.',
};

/**
 * The fix for a terminal error.
 *
 * @param code - the error code the server sent, if any
 * @returns advice text
 *
 * @internal
 */
export function fixForStreamError(code: string | undefined): string {
  if (code !== undefined && FIXES[code] !== undefined) return FIXES[code] as string;
  return 'The server ended the stream with an error: its message and the server log say why; a provider problem shows in `streamwell doctor --provider`.';
}
