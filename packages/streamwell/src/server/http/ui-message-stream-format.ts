/**
 * The Vercel AI SDK's UI message stream (v1) as a {@link StreamFormat}: what `useChat` with
 * `DefaultChatTransport` (`ai` 6) reads. Each run event becomes zero or more chunks, one
 * `data: <JSON>` SSE event each:
 *
 * | run event | chunks |
 * |---|---|
 * | `start` | `start` (`messageId`: the stream id), `start-step`, `text-start` |
 * | `token` | `text-delta` |
 * | `checkpoint`, `handoff` | none |
 * | `tool-call` | `text-end`, `tool-input-available`, `text-start` (text after the tool is a new part) |
 * | `tool-result` | `tool-output-available` |
 * | `done` | `text-end`, `finish-step`, (`abort` when cancelled), `finish` (`finishReason`), `[DONE]` |
 * | `error` | `error` (`errorText`, and the streamwell `code`), `[DONE]` |
 *
 * The encoding is stateless per event, so one batch is encoded once and shared by every
 * connection, and a replay from the run's start rebuilds the same message: `messageId` is the
 * stream id, the same on every resume and after a reload (the SDK replaces the message it already
 * shows instead of adding a second one). The last chunk of each event carries the event's `id:`
 * line: the SDK's parser reads only `data`, and the ids keep the stream resumable by any SSE
 * client. Heartbeats are SSE comments, which the SDK's parser skips.
 *
 * Spec: the SDK's `uiMessageChunkSchema` (`ai/src/ui-message-stream/ui-message-chunks.ts`).
 *
 * @module
 */
import { SSE_HEADERS } from '../../protocol/index.ts';
import type { RunEvent, RunEventEncoder } from '../run-event-log.ts';
import type { StreamFormat } from './stream-format.ts';
import { STREAMWELL_SSE_FORMAT } from './stream-format.ts';

/** The header that marks a UI message stream (the SDK's docs require it; its client ignores it). */
export const UI_MESSAGE_STREAM_HEADER = 'x-vercel-ai-ui-message-stream';

/** The id of the text part(s) of a reply: one open text part at a time, reopened after a tool. */
const TEXT_ID = 'text';
const TEXT_START = `{"type":"text-start","id":"${TEXT_ID}"}`;
const TEXT_END = `{"type":"text-end","id":"${TEXT_ID}"}`;
/** The SDK's end of stream. */
const DONE_FRAME = 'data: [DONE]\n\n';
const TOKEN_PREFIX = '{"token":';

/** streamwell finish reasons to the SDK's (`stop`, `length`, `content-filter`, `tool-calls`, `error`, `other`). */
const FINISH_REASONS: Readonly<Record<string, string>> = {
  stop: 'stop',
  length: 'length',
  content_filter: 'content-filter',
  tool_calls: 'tool-calls',
};

function frame(json: string): string {
  return `data: ${json}\n\n`;
}

function lastFrame(id: number, json: string): string {
  return `id: ${id}\ndata: ${json}\n\n`;
}

/** Tool arguments and outputs are JSON text when they can be: hand the SDK the value. */
function jsonValueOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The JSON string of a token's text, cut out of the token event's `{"token":"..."}` without a parse. */
function deltaJson(json: string): string {
  if (json.startsWith(TOKEN_PREFIX) && json.endsWith('}')) return json.slice(TOKEN_PREFIX.length, -1);
  return JSON.stringify((JSON.parse(json) as { token: string }).token);
}

/**
 * The UI message stream chunks of one run event, as SSE text.
 *
 * @param event - an event of a run
 * @returns its chunks (`data:` lines, the last with the event's `id:`), or '' when it has none
 * @example encodeUiMessageChunks({ id: 4, event: 'token', json: '{"token":"Hi"}' }) // 'id: 4\ndata: {"type":"text-delta","id":"text","delta":"Hi"}\n\n'
 */
export function encodeUiMessageChunks(event: RunEvent): string {
  switch (event.event) {
    case 'token':
      return lastFrame(event.id, `{"type":"text-delta","id":"${TEXT_ID}","delta":${deltaJson(event.json)}}`);
    case 'start': {
      const { streamId } = JSON.parse(event.json) as { streamId: string };
      return (
        frame(JSON.stringify({ type: 'start', messageId: streamId })) +
        frame('{"type":"start-step"}') +
        lastFrame(event.id, TEXT_START)
      );
    }
    case 'tool-call': {
      const call = JSON.parse(event.json) as { callId: string; name: string; arguments: string };
      const chunk = {
        type: 'tool-input-available',
        toolCallId: call.callId,
        toolName: call.name,
        input: jsonValueOf(call.arguments),
        // The provider's agent runs its tools on the server: the page must not run them again.
        providerExecuted: true,
      };
      return frame(TEXT_END) + frame(JSON.stringify(chunk)) + lastFrame(event.id, TEXT_START);
    }
    case 'tool-result': {
      const result = JSON.parse(event.json) as { callId: string; output: string };
      const chunk = {
        type: 'tool-output-available',
        toolCallId: result.callId,
        output: jsonValueOf(result.output),
        providerExecuted: true,
      };
      return lastFrame(event.id, JSON.stringify(chunk));
    }
    case 'done': {
      const { finishReason } = JSON.parse(event.json) as { finishReason: string };
      const reason = FINISH_REASONS[finishReason] ?? 'other';
      const abort = finishReason === 'cancelled' ? frame('{"type":"abort","reason":"cancelled"}') : '';
      return (
        frame(TEXT_END) +
        frame('{"type":"finish-step"}') +
        abort +
        lastFrame(event.id, `{"type":"finish","finishReason":"${reason}"}`) +
        DONE_FRAME
      );
    }
    case 'error': {
      const failure = JSON.parse(event.json) as { error: string; code: string };
      return (
        lastFrame(event.id, JSON.stringify({ type: 'error', errorText: failure.error, code: failure.code })) +
        DONE_FRAME
      );
    }
    default:
      // `checkpoint` and `handoff` have no chunk in the SDK's stream.
      return '';
  }
}

/** The UI message stream encoding of a batch: its events' chunks, joined (one write). @internal */
export const UI_MESSAGE_STREAM_ENCODER: RunEventEncoder = {
  encode(events) {
    if (events.length === 1) return encodeUiMessageChunks(events[0] as RunEvent);
    let text = '';
    for (const event of events) text += encodeUiMessageChunks(event);
    return text;
  },
};

/** The AI SDK's UI message stream (v1), for `useChat` and `DefaultChatTransport`. */
export const UI_MESSAGE_STREAM_FORMAT: StreamFormat = Object.freeze({
  name: 'ui-message-stream',
  headers: Object.freeze({ ...SSE_HEADERS, [UI_MESSAGE_STREAM_HEADER]: 'v1' }),
  encoder: UI_MESSAGE_STREAM_ENCODER,
  heartbeat: STREAMWELL_SSE_FORMAT.heartbeat,
});
