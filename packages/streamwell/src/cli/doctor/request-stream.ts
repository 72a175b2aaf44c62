/**
 * One streamed HTTP request over raw `node:http`/`node:https`, recorded read by read: no fetch
 * layer that could coalesce reads or hide `Content-Encoding`. A compressed body is decompressed
 * for parsing (the headers check reports the compression itself).
 *
 * @module
 */
import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { createStreamRecorder, type StreamRecorder } from '../../client/diagnose/create-stream-recorder.ts';
import type { ObservedEvent, StreamObservation } from '../../client/diagnose/stream-observation.ts';

/** Options of {@link requestStream}. */
export interface StreamRequestOptions {
  readonly url: string;
  readonly method: 'GET' | 'POST';
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string | undefined;
  /** Stop waiting after this long (from the request). */
  readonly timeoutMs: number;
  /** After a terminal event, wait this long for the server to close. @defaultValue 1000 */
  readonly closeGraceMs?: number;
  /** Stop once this many events arrived (a replay needs only so many). */
  readonly maxEvents?: number;
  readonly expectsReply: boolean;
  /** Progress hook, called for every event. */
  readonly onEvent?: (event: ObservedEvent) => void;
}

/** What {@link requestStream} resolves with. */
export interface StreamResult {
  readonly observation: StreamObservation;
  /** For a non-2xx answer: the start of the body (JSON errors say why). */
  readonly errorBody: string | undefined;
}

const ERROR_BODY_LIMIT = 4096;

function flattenHeaders(headers: http.IncomingHttpHeaders): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : value;
  }
  return flat;
}

function decodeBody(response: http.IncomingMessage): Readable {
  const encoding = (response.headers['content-encoding'] ?? '').trim().toLowerCase();
  // Flush after every input chunk so that decompression does not add buffering of its own.
  if (encoding === 'gzip' || encoding === 'x-gzip') {
    return response.pipe(zlib.createGunzip({ flush: zlib.constants.Z_SYNC_FLUSH }));
  }
  if (encoding === 'deflate') return response.pipe(zlib.createInflate({ flush: zlib.constants.Z_SYNC_FLUSH }));
  if (encoding === 'br') {
    return response.pipe(zlib.createBrotliDecompress({ flush: zlib.constants.BROTLI_OPERATION_FLUSH }));
  }
  return response;
}

/**
 * Sends the request and records the stream until it closes, a terminal event arrives (plus a
 * short grace for the close), a limit is reached or `timeoutMs` passes. Never rejects: network
 * failures are part of the observation.
 *
 * @param options - the request
 * @returns the observation, and the error body of a non-2xx answer
 */
export function requestStream(options: StreamRequestOptions): Promise<StreamResult> {
  const requestedAt = performance.now();
  const url = new URL(options.url);
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise((resolve) => {
    let errorBody: string | undefined;
    let settled = false;
    let graceTimer: NodeJS.Timeout | undefined;
    const recorder: StreamRecorder = createStreamRecorder({
      requestedAt,
      expectsReply: options.expectsReply,
      timeoutMs: options.timeoutMs,
      ...(options.maxEvents === undefined ? {} : { maxEvents: options.maxEvents }),
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      onTerminal: () => {
        graceTimer = setTimeout(() => finish('terminal-wait'), options.closeGraceMs ?? 1000);
      },
    });
    const finish = (reason: Parameters<StreamRecorder['end']>[0], message?: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (graceTimer !== undefined) clearTimeout(graceTimer);
      recorder.end(reason, performance.now(), message);
      request.destroy();
      resolve({ observation: recorder.observation(), errorBody });
    };
    let responded = false;
    const timer = setTimeout(() => {
      finish('timeout', responded ? undefined : `timed out: no response head within ${options.timeoutMs} ms`);
    }, options.timeoutMs);
    const request = transport.request(url, { method: options.method, headers: { ...options.headers } }, (response) => {
      responded = true;
      const status = response.statusCode ?? 0;
      recorder.response(status, flattenHeaders(response.headers), performance.now());
      if (status < 200 || status >= 300) {
        collectErrorBody(response, (text) => {
          errorBody = text;
          finish('eof');
        });
        return;
      }
      const body = decodeBody(response);
      body.on('data', (chunk: Buffer) => {
        if (settled) return;
        if (!recorder.read(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength), performance.now())) {
          finish('limit');
        }
      });
      body.on('end', () => finish('eof'));
      body.on('error', (error: Error) => finish('error', error.message));
      response.on('error', (error: Error) => finish('error', error.message));
      response.on('aborted', () => finish('error', 'the server aborted the response'));
    });
    request.on('error', (error: NodeJS.ErrnoException) => finish('error', error.message || error.code));
    request.end(options.body);
  });
}

function collectErrorBody(response: http.IncomingMessage, done: (text: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  response.on('data', (chunk: Buffer) => {
    if (size < ERROR_BODY_LIMIT) chunks.push(chunk);
    size += chunk.length;
  });
  response.on('end', () => done(Buffer.concat(chunks).toString('utf8').slice(0, ERROR_BODY_LIMIT)));
  response.on('error', () => done(Buffer.concat(chunks).toString('utf8')));
}

/**
 * The `error.code` of a streamwell-style JSON error body, if it is one.
 *
 * @param body - the response body
 * @returns the code, or undefined
 */
export function readErrorCode(body: string | undefined): string | undefined {
  if (body === undefined) return undefined;
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown } | string; code?: unknown };
    if (typeof parsed.error === 'object' && typeof parsed.error?.code === 'string') return parsed.error.code;
    return typeof parsed.code === 'string' ? parsed.code : undefined;
  } catch {
    return undefined;
  }
}
