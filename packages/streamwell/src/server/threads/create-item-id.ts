/**
 * Ids of the items a thread store creates.
 *
 * @module
 */
import { randomUUID } from 'node:crypto';

/**
 * A new random item id, with ChatKit's `msg_` prefix for messages.
 *
 * @param prefix - the id prefix @defaultValue 'msg'
 * @returns e.g. `msg_2f1c…` (32 hex digits after the prefix)
 */
export function createItemId(prefix = 'msg'): string {
  return `${prefix}_${randomUUID().replaceAll('-', '')}`;
}
