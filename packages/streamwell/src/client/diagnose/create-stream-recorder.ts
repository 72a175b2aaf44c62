/**
 * Records a stream as it arrives: feeds each network read to the WHATWG parser and stamps every
 * event and comment with the read it completed in. Bounded: past {@link RecorderOptions.maxEvents}
 * or {@link RecorderOptions.maxBytes} it stops and reports `limit`.
 *
 * @module
 */
import { createSseByteParser } from '../../protocol/sse-stream.ts';
import { classifyTerminal, parseJsonData, type TerminalSignal } from './classify-event.ts';
import type {
  ObservedComment,
  ObservedEvent,
  ObservedRead,
  StreamEndReason,
  StreamObservation,
} from './stream-observation.ts';

/**
 * Options of {@link createStreamRecorder}.
 *
 * @internal
 */
export interface RecorderOptions {
  /** When the request was sent (same clock as every later time). */
  readonly requestedAt: number;
  readonly expectsReply: boolean;
  readonly timeoutMs: number;
  /** @defaultValue 20000 */
  readonly maxEvents?: number;
  /** @defaultValue 16 MiB */
  readonly maxBytes?: number;
  /** Called once when the first terminal event arrives. */
  readonly onTerminal?: (signal: TerminalSignal, event: ObservedEvent) => void;
  /** Called for every event (progress display). */
  readonly onEvent?: (event: ObservedEvent) => void;
}

/**
 * A recorder made by {@link createStreamRecorder}.
 *
 * @internal
 */
export interface StreamRecorder {
  /** The response head arrived. */
  response(status: number, headers: Readonly<Record<string, string>>, at: number): void;
  /**
   * One network read.
   *
   * @returns false once a limit is reached: stop reading
   */
  read(chunk: Uint8Array | string, at: number): boolean;
  /** The recording ends; later calls are ignored. */
  end(reason: StreamEndReason, at: number, errorMessage?: string): void;
  /** True after {@link StreamRecorder.end}. */
  readonly ended: boolean;
  /** Events so far. */
  readonly events: readonly ObservedEvent[];
  /** The observation; call after {@link StreamRecorder.end}. */
  observation(): StreamObservation;
}

const SAMPLE_CHARS = 300;
// One entry per network read: a server that dribbles one byte per read must not grow the
// recording without bound before the byte cap is reached.
const MAX_READS = 100_000;

/**
 * Creates a recorder.
 *
 * @param options - the clock origin, limits and hooks
 * @returns the recorder
 *
 * @internal
 */
export function createStreamRecorder(options: RecorderOptions): StreamRecorder {
  const maxEvents = options.maxEvents ?? 20_000;
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024;
  const reads: ObservedRead[] = [];
  const events: ObservedEvent[] = [];
  const comments: ObservedComment[] = [];
  const parseErrors: string[] = [];
  let status: number | undefined;
  let responseAt: number | undefined;
  let headers: Readonly<Record<string, string>> = {};
  let bodySample = '';
  let bytes = 0;
  let now = options.requestedAt;
  let terminalSeen = false;
  let ended: { reason: StreamEndReason; at: number; errorMessage: string | undefined } | undefined;
  const sampleDecoder = new TextDecoder();

  const parser = createSseByteParser({
    onEvent(event) {
      if (events.length >= maxEvents) return;
      const observed: ObservedEvent = {
        at: now,
        readIndex: reads.length - 1,
        event: event.event,
        data: event.data,
        lastEventId: event.id ?? '',
      };
      events.push(observed);
      options.onEvent?.(observed);
      if (!terminalSeen) {
        const signal = classifyTerminal(observed.event, observed.data, parseJsonData(observed.data));
        if (signal !== undefined) {
          terminalSeen = true;
          options.onTerminal?.(signal, observed);
        }
      }
    },
    onComment(text) {
      if (comments.length < maxEvents) comments.push({ at: now, readIndex: reads.length - 1, text });
    },
    onError(error) {
      parseErrors.push(error.message);
    },
  });

  return {
    response(code, head, at) {
      status = code;
      headers = head;
      responseAt = at;
    },
    read(chunk, at) {
      if (ended !== undefined) return false;
      const size = typeof chunk === 'string' ? chunk.length : chunk.byteLength;
      now = at;
      reads.push({ at, bytes: size });
      bytes += size;
      if (bodySample.length < SAMPLE_CHARS) {
        const text =
          typeof chunk === 'string' ? chunk : sampleDecoder.decode(chunk.slice(0, SAMPLE_CHARS), { stream: true });
        bodySample = `${bodySample}${text}`.slice(0, SAMPLE_CHARS);
      }
      parser.feed(chunk);
      return events.length < maxEvents && bytes < maxBytes && reads.length < MAX_READS;
    },
    end(reason, at, errorMessage) {
      if (ended !== undefined) return;
      parser.end();
      ended = { reason, at, errorMessage };
    },
    get ended() {
      return ended !== undefined;
    },
    get events() {
      return events;
    },
    observation() {
      const end = ended ?? { reason: 'timeout' as const, at: now, errorMessage: undefined };
      return {
        requestedAt: options.requestedAt,
        responseAt,
        status,
        headers,
        reads,
        events,
        comments,
        bodySample,
        parseErrors,
        endedAt: end.at,
        endReason: end.reason,
        errorMessage: end.errorMessage,
        expectsReply: options.expectsReply,
        timeoutMs: options.timeoutMs,
      };
    },
  };
}
