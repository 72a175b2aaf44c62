/**
 * Passes a streamwell UI message stream (the body of `POST /api/chat` or of a resume
 * `GET /api/chat/{id}/stream`) to the AI SDK one whole event at a time, and remembers the id of
 * the last event it handed over, so that a resume after a drop shows the reply once.
 *
 * Why: when a reply's connection drops, the SDK keeps the message it built so far and, on resume,
 * expects the server to replay the reply from its start, which it rebuilds after resetting the
 * message (`resumeStreamIsReplay`). `useChat` (`@ai-sdk/react` 3.0.328) wraps the transport in
 * an object without that flag, so the reset never happens and the replay is appended to the text
 * already shown: the reply appears twice (vercel/ai #14688, #18107). Browsers also disagree on
 * whether a drop is a "network" error, which decides whether the SDK keeps the message at all
 * (Safari's `Load failed` does not count).
 *
 * So this stream (1) turns any failure of the body, and an end before `[DONE]`, into a
 * `TypeError('network error …')`: the SDK always keeps the message and resumes it; (2) cuts the
 * body into whole event groups (the chunks of one run event end with its `id:` line), so the SDK
 * never sees half an event; (3) on the resume of the same stream, drops the groups the SDK has
 * already had. With or without the SDK's reset, the message ends with the exact text, once.
 *
 * Browser-safe.
 *
 * @module
 */

/** What is known of the stream of a chat's latest reply. */
export interface ChatStreamProgress {
  /** The stream (`X-Stream-Id`). */
  readonly streamId: string;
  /** Id of the last whole event handed to the SDK (0 before the first). */
  lastId: number;
  /** The body failed or ended before `[DONE]`: the SDK holds a partial message of this stream. */
  interrupted: boolean;
}

const DONE_FRAME = 'data: [DONE]\n\n';

function isAbort(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

/** The error the SDK reads as a dropped connection (`TypeError` whose message says "network"). */
function networkError(cause: unknown): TypeError {
  const detail = cause instanceof Error ? cause.message : 'the reply ended before [DONE]';
  return new TypeError(`network error: the reply stream was interrupted (${detail})`, { cause });
}

/**
 * Wraps a UI message stream body.
 *
 * @param body - the response body
 * @param progress - updated as events pass: `lastId`, and `interrupted` on a failure
 * @param skipThrough - drop the event groups with an id up to this one (the SDK has them); 0 drops none
 * @returns the body to hand to the SDK
 */
export function trackChatStream(
  body: ReadableStream<Uint8Array>,
  progress: ChatStreamProgress,
  skipThrough: number,
): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  /** Received text not yet cut into frames. */
  let pending = '';
  /** Whole frames of the event group being received (it ends with the frame that has an id). */
  let group = '';
  let done = false;

  /** Cuts `pending` into frames and returns the whole groups to hand over. */
  function takeGroups(): string {
    let out = '';
    let start = 0;
    for (let end = pending.indexOf('\n\n'); end !== -1; end = pending.indexOf('\n\n', start)) {
      const frame = pending.slice(start, end + 2);
      start = end + 2;
      // Heartbeat comments kept proxies awake; the SDK's parser skips them anyway.
      if (frame.startsWith(':')) continue;
      if (frame === DONE_FRAME) {
        done = true;
        out += group + frame;
        group = '';
        continue;
      }
      group += frame;
      if (frame.startsWith('id: ')) {
        const id = Number(frame.slice(4, frame.indexOf('\n')));
        if (id > skipThrough) {
          out += group;
          progress.lastId = id;
        }
        group = '';
      }
    }
    pending = pending.slice(start);
    return out;
  }

  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (error) {
          progress.interrupted = true;
          // An abort (Stop) stays an abort: the SDK ends the request quietly.
          controller.error(isAbort(error) ? error : networkError(error));
          return;
        }
        if (result.done) {
          if (done) {
            controller.close();
          } else {
            // Closed mid-reply (a server shutting down, a proxy timeout): resumable, like a drop.
            progress.interrupted = true;
            controller.error(networkError(undefined));
          }
          return;
        }
        pending += decoder.decode(result.value, { stream: true });
        const out = takeGroups();
        if (out !== '') {
          controller.enqueue(encoder.encode(out));
          return;
        }
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
