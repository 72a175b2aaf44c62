/**
 * `UPSTREAM_HEADERS`: the headers the `sse` provider sends with every upstream request, written
 * as `Name: value` pairs, one per line.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';

/** An HTTP field name (RFC 9110 `token`). */
const FIELD_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * Headers that describe the request's framing or connection: the HTTP client sets them itself,
 * and a wrong one breaks every request.
 */
const MANAGED = new Set([
  'connection',
  'content-length',
  'expect',
  'host',
  'keep-alive',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/**
 * Parses `Name: value` lines. Lines are separated by newlines (LF or CRLF); where an
 * environment cannot hold a newline (a Docker `--env-file`), the two characters `\n` separate
 * them too. Blank lines are skipped. Names are lower-cased.
 *
 * @param text - the variable's value; undefined or blank is no headers
 * @param variable - the name used in messages
 * @returns the headers
 * @throws StreamwellError `invalid_config` for a line without a colon, an invalid name, a
 *   repeated name, a control character in a value, or a header the HTTP client manages itself.
 *   Messages name the line and the header, never a value (values are often credentials).
 * @example
 * parseUpstreamHeaders('Authorization: Bearer abc\nX-Team: web'); // { authorization: 'Bearer abc', 'x-team': 'web' }
 */
export function parseUpstreamHeaders(text: string | undefined, variable = 'UPSTREAM_HEADERS'): Record<string, string> {
  const headers: Record<string, string> = {};
  if (text === undefined) return headers;
  const lines = text.split(/\r?\n|\\n/);
  lines.forEach((line, index) => {
    if (line.trim() === '') return;
    const where = `${variable} line ${index + 1}`;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new StreamwellError('invalid_config', `${where} must be "Name: value".`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (!FIELD_NAME.test(name))
      throw new StreamwellError('invalid_config', `${where}: "${name}" is not a header name.`);
    if (MANAGED.has(name)) {
      throw new StreamwellError('invalid_config', `${where}: ${name} is set by the HTTP client; remove it.`);
    }
    if (Object.hasOwn(headers, name)) {
      throw new StreamwellError('invalid_config', `${where}: ${name} is given twice; join the values with ", ".`);
    }
    // biome-ignore lint/suspicious/noControlCharactersInRegex: the point is to refuse them
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(value)) {
      throw new StreamwellError('invalid_config', `${where}: the value of ${name} contains a control character.`);
    }
    headers[name] = value;
  });
  return headers;
}
