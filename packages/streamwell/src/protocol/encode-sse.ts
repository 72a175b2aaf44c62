/**
 * Server-Sent Events encoding.
 *
 * Spec: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
 *
 * Every encoder returns one string so that an event goes out in one socket write. Field values
 * that would break framing (CR or LF in `id` or `event`, NUL in `id`) are refused with a
 * `TypeError`: a client must never see an injected event.
 *
 * @module
 */

const LINE_BREAK = /[\r\n]/;

function assertField(name: string, value: string): void {
  if (LINE_BREAK.test(value)) {
    throw new TypeError(`SSE ${name} must not contain CR or LF: ${JSON.stringify(value)}`);
  }
}

/**
 * Encodes one event whose data is already a single line (for example `JSON.stringify` output,
 * which escapes every line break). This is the hot path: one template string, no splitting.
 *
 * @param id - the event id (a run's sequence number)
 * @param event - the event name; must not contain CR or LF
 * @param dataLine - the data; must not contain CR or LF
 * @returns the frame, ending with the blank line that dispatches it
 * @throws TypeError when a field contains CR or LF
 * @example encodeSseEvent(3, 'token', '{"token":"Hi"}') // 'id: 3\nevent: token\ndata: {"token":"Hi"}\n\n'
 */
export function encodeSseEvent(id: number | string, event: string, dataLine: string): string {
  const idText = String(id);
  // "If the field value does not contain U+0000 NULL, then set the last event ID buffer": an id
  // with NUL would be ignored by browsers, so refuse it here instead of silently breaking resume.
  if (idText.includes('\0')) throw new TypeError('SSE id must not contain NUL');
  assertField('id', idText);
  assertField('event', event);
  assertField('data', dataLine);
  return `id: ${idText}\nevent: ${event}\ndata: ${dataLine}\n\n`;
}

/**
 * Encodes an event with arbitrary (possibly multi-line) data, one `data:` line per line, as
 * the spec's "append the field value to the data buffer, then a LF" step reassembles it.
 *
 * @param fields - optional id and event, and the data text
 * @returns the frame
 * @throws TypeError when `id` or `event` contains CR or LF, or `id` contains NUL
 */
export function encodeSseFrame(fields: { id?: string | number; event?: string; data: string }): string {
  let frame = '';
  if (fields.id !== undefined) {
    const idText = String(fields.id);
    if (idText.includes('\0')) throw new TypeError('SSE id must not contain NUL');
    assertField('id', idText);
    frame += `id: ${idText}\n`;
  }
  if (fields.event !== undefined) {
    assertField('event', fields.event);
    frame += `event: ${fields.event}\n`;
  }
  for (const line of fields.data.split(/\r\n|\r|\n/)) frame += `data: ${line}\n`;
  return `${frame}\n`;
}

/**
 * Encodes a comment line, used as an idle keep-alive. Browsers ignore it; proxies see bytes.
 *
 * @param text - comment text; line breaks are replaced by spaces
 * @returns `: text\n\n`
 */
export function encodeSseComment(text = ''): string {
  return `: ${text.replace(/[\r\n]+/g, ' ')}\n\n`;
}

/**
 * Encodes a `retry:` field that sets the client's reconnection delay.
 *
 * @param milliseconds - a non-negative integer
 * @returns `retry: N\n\n`
 * @throws RangeError when the value is not a non-negative integer
 */
export function encodeSseRetry(milliseconds: number): string {
  if (!Number.isInteger(milliseconds) || milliseconds < 0) {
    throw new RangeError(`SSE retry must be a non-negative integer, got ${milliseconds}`);
  }
  return `retry: ${milliseconds}\n\n`;
}
