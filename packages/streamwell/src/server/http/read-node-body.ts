/**
 * Reading a Node request's body for the Node adapter, bounded.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';
import { StreamwellError } from '../../errors/index.ts';
import { bodyTooLarge } from './create-stream-handler.ts';

/**
 * A request a framework may have read already: Express puts a parsed body here.
 *
 * @internal
 */
export interface MaybeParsedRequest extends IncomingMessage {
  body?: unknown;
}

const EMPTY = new Uint8Array(0);

/**
 * Reads the body of a Node request, stopping at `limit` bytes. Internal to the Node adapter (not
 * re-exported by `streamwell/server`).
 *
 * @param request - the request, or a framework's request with a parsed `body`
 * @param limit - the most bytes to accept
 * @returns the body's bytes
 *
 * @internal
 */
export function readNodeBody(request: MaybeParsedRequest, limit: number): Promise<Uint8Array> {
  // A body parser mounted before us (express.json(), express.text()) already consumed the
  // stream; use what it parsed rather than waiting for an `end` that already happened.
  if (request.readableEnded || request.body !== undefined) {
    const parsed = request.body;
    if (parsed === undefined || parsed === null) return Promise.resolve(EMPTY);
    const bytes =
      parsed instanceof Uint8Array
        ? parsed
        : new TextEncoder().encode(typeof parsed === 'string' ? parsed : JSON.stringify(parsed));
    return bytes.byteLength > limit ? Promise.reject(bodyTooLarge(limit)) : Promise.resolve(bytes);
  }
  // With a Content-Length, the body is complete when that many bytes have arrived (Node's
  // parser never delivers more): resolve then, instead of a turn later on `end`. It moves the
  // upstream request earlier on every start (time to first token).
  const declared = Number(request.headers['content-length'] ?? Number.NaN);
  const expected = Number.isSafeInteger(declared) && declared > 0 ? declared : -1;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      request.off('data', onData);
      request.off('end', onEnd);
      request.off('error', onError);
      request.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        // Stop reading: the reply closes the connection instead of draining an unbounded body.
        request.pause();
        reject(bodyTooLarge(limit));
        return;
      }
      chunks.push(chunk);
      if (size === expected) onEnd();
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks));
    };
    // A client that goes away mid-upload (Node reports `aborted`, ECONNRESET) is the client's
    // failure, not the server's: a 400, so that it is neither logged as a server error with its
    // stack nor counted as `internal_error` (found by the hostile-input fuzz suite).
    const onError = (error: Error): void => {
      cleanup();
      reject(cutShort(error));
    };
    const onClose = (): void => {
      cleanup();
      reject(cutShort(undefined));
    };
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('error', onError);
    request.on('close', onClose);
  });
}

/** The error of a body the client stopped sending. */
function cutShort(cause: unknown): StreamwellError {
  return new StreamwellError('bad_request', 'The client closed the connection before sending the whole body.', {
    status: 400,
    cause,
  });
}
