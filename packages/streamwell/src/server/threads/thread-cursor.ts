/**
 * The opaque cursor of thread lists: the last thread's `(updatedAt, id)`, the keyset the next
 * page continues after, so pages neither repeat nor skip a thread when others are added.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';

/** A decoded thread cursor. */
export interface ThreadCursor {
  readonly updatedAt: string;
  readonly id: string;
}

/**
 * Encodes a cursor (base64url JSON: opaque to clients).
 *
 * @param cursor - the last thread of a page
 * @returns the cursor string
 */
export function encodeThreadCursor(cursor: ThreadCursor): string {
  return Buffer.from(JSON.stringify([cursor.updatedAt, cursor.id]), 'utf8').toString('base64url');
}

/**
 * Decodes a cursor from {@link encodeThreadCursor}.
 *
 * @param text - the cursor a client sent back
 * @returns the keyset
 * @throws StreamwellError `invalid_cursor` (400) when it is not one of ours
 */
export function decodeThreadCursor(text: string): ThreadCursor {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    typeof value[0] !== 'string' ||
    typeof value[1] !== 'string' ||
    text.length > 1000
  ) {
    throw new StreamwellError('invalid_cursor', 'The cursor is not one this server gave out.', { status: 400 });
  }
  return { updatedAt: value[0], id: value[1] };
}
