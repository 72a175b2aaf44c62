/**
 * Shared by the node:http relays under test: read `{"message"}` from a request body.
 *
 * @module
 */
import type { IncomingMessage } from 'node:http';

/** Reads the JSON body and returns its `message` string ('' when absent or malformed). */
export function readMessage(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    request.on('data', (part: Buffer) => parts.push(part));
    request.on('end', () => {
      try {
        const body = JSON.parse(Buffer.concat(parts).toString('utf8')) as { message?: unknown };
        resolve(typeof body.message === 'string' ? body.message : '');
      } catch {
        resolve('');
      }
    });
    request.on('error', reject);
  });
}

/** The upstream base URL (`.../v1`) from `MOCK_URL`. */
export function upstreamUrl(): URL {
  const value = process.env.MOCK_URL;
  if (!value) throw new Error('MOCK_URL is not set');
  return new URL(value.endsWith('/') ? value : `${value}/`);
}
