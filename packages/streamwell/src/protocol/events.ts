/**
 * The streamwell wire protocol, version 1: one discriminated union of events.
 *
 * Every event carries an `id` (its sequence number in the run, strictly increasing), an `event`
 * name and a `data` object that is sent as one line of JSON. The `data` shapes keep the
 * troubleshooting guide's own browser code (`JSON.parse(line.slice(6)).token`) working unchanged.
 *
 * @module
 */

/** The protocol version, sent in the `start` event and the `X-Streamwell-Protocol` header. */
export const PROTOCOL_VERSION = 1 as const;

/** Why a run finished normally. `cancelled` is a stop requested by a client or by the server. */
export type FinishReason = 'stop' | 'length' | 'cancelled' | 'content_filter' | 'tool_calls';

/** `start`: the first event of every run. */
export interface StartData {
  readonly streamId: string;
  readonly threadId: string;
  readonly protocol: typeof PROTOCOL_VERSION;
  /** Provider name (`agents`, `openai`, `demo`). */
  readonly provider?: string;
  /** Model name as configured. */
  readonly model?: string;
  /** True when the built-in demo model answers: UIs must label the reply as a demo. */
  readonly demo?: boolean;
}

/** `token`: one text delta from the model. */
export interface TokenData {
  readonly token: string;
}

/** `checkpoint`: sent every `CHECKPOINT_EVERY` tokens, as in the guide. */
export interface CheckpointData {
  readonly type: 'checkpoint';
  /** Tokens so far in this run. */
  readonly tokens: number;
}

/** `tool-call`: the agent called a tool. */
export interface ToolCallData {
  readonly type: 'tool-call';
  readonly callId: string;
  readonly name: string;
  /** The arguments as the model produced them (usually JSON text). */
  readonly arguments: string;
}

/** `tool-result`: a tool returned. */
export interface ToolResultData {
  readonly type: 'tool-result';
  readonly callId: string;
  readonly output: string;
}

/** `handoff`: control passed from one agent to another. */
export interface HandoffData {
  readonly type: 'handoff';
  readonly from?: string;
  readonly to: string;
}

/** `done`: the run ended normally (including a requested stop). Terminal. */
export interface DoneData {
  readonly finishReason: FinishReason;
  /** Tokens streamed in this run. */
  readonly tokens: number;
}

/** Stable codes carried by the terminal `error` event. */
export type StreamErrorCode =
  | 'first_token_timeout'
  | 'idle_timeout'
  | 'stream_timeout'
  | 'upstream_error'
  | 'upstream_auth'
  | 'retention_exceeded'
  | 'server_shutdown'
  | 'abandoned'
  // several instances (REDIS_URL): the producing instance died or lost its lease
  | 'producer_lost'
  // several instances: the shared run store (Redis) could not be reached
  | 'store_unavailable'
  | 'internal_error';

/** `error`: the run failed. Terminal. Has `data`, unlike the browser's connection `error`. */
export interface ErrorData {
  /** A human-readable message; never contains server internals by default. */
  readonly error: string;
  readonly code: StreamErrorCode;
}

/** Event name to data shape. */
export interface EventDataMap {
  start: StartData;
  token: TokenData;
  checkpoint: CheckpointData;
  'tool-call': ToolCallData;
  'tool-result': ToolResultData;
  handoff: HandoffData;
  done: DoneData;
  error: ErrorData;
}

/** Every event name of protocol v1. */
export type StreamEventName = keyof EventDataMap;

/** One protocol event as it travels: id, name and data. */
export type StreamEvent = {
  [K in StreamEventName]: { readonly id: number; readonly event: K; readonly data: EventDataMap[K] };
}[StreamEventName];

/** An event before the run has numbered it. */
export type StreamEventInput = {
  [K in StreamEventName]: { readonly event: K; readonly data: EventDataMap[K] };
}[StreamEventName];

/** The names of protocol v1, for validation. */
export const STREAM_EVENT_NAMES: readonly StreamEventName[] = [
  'start',
  'token',
  'checkpoint',
  'tool-call',
  'tool-result',
  'handoff',
  'done',
  'error',
];

/**
 * Whether an event ends its run. Exactly one terminal event closes every run.
 *
 * @param event - the event name
 * @returns true for `done` and `error`
 */
export function isTerminalEventName(event: string): event is 'done' | 'error' {
  return event === 'done' || event === 'error';
}

/**
 * Checks that a parsed value looks like a protocol v1 event (name known, id a safe integer,
 * data an object). Used at the client boundary on data that came over the network.
 *
 * @param value - anything
 * @returns true when `value` has the shape of a {@link StreamEvent}
 */
export function isStreamEvent(value: unknown): value is StreamEvent {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as { id?: unknown; event?: unknown; data?: unknown };
  return (
    typeof candidate.id === 'number' &&
    Number.isSafeInteger(candidate.id) &&
    typeof candidate.event === 'string' &&
    (STREAM_EVENT_NAMES as readonly string[]).includes(candidate.event) &&
    typeof candidate.data === 'object' &&
    candidate.data !== null
  );
}
