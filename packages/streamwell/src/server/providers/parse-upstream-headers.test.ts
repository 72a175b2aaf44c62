import { describe, expect, it } from 'vitest';
import { parseUpstreamHeaders } from './parse-upstream-headers.ts';

const invalid = (pattern: RegExp) =>
  expect.objectContaining({ code: 'invalid_config', message: expect.stringMatching(pattern) });

describe('parseUpstreamHeaders', () => {
  it('reads Name: value lines, LF, CRLF or a literal \\n, and lower-cases names', () => {
    expect(parseUpstreamHeaders('Authorization: Bearer a:b\r\nX-Team:  web \n\nX-Env: prod\\nX-Other: 1')).toEqual({
      authorization: 'Bearer a:b',
      'x-team': 'web',
      'x-env': 'prod',
      'x-other': '1',
    });
    expect(parseUpstreamHeaders(undefined)).toEqual({});
  });

  it('refuses what would break or confuse every request, naming the line but never the value', () => {
    expect(() => parseUpstreamHeaders('Bearer s3cret')).toThrow(invalid(/line 1 must be "Name: value"/));
    expect(() => parseUpstreamHeaders('X-A: 1\nBad Name: s3cret')).toThrow(invalid(/line 2: "bad name" is not/));
    expect(() => parseUpstreamHeaders('Host: other')).toThrow(invalid(/host is set by the HTTP client/));
    expect(() => parseUpstreamHeaders('Transfer-Encoding: gzip')).toThrow(invalid(/transfer-encoding/));
    expect(() => parseUpstreamHeaders('X-A: 1\nx-a: s3cret')).toThrow(invalid(/x-a is given twice/));
    expect(() => parseUpstreamHeaders('X-A: s3cret\u0001')).toThrow(invalid(/control character/));
    try {
      parseUpstreamHeaders('X-A: 1\nx-a: s3cret');
    } catch (error) {
      expect((error as Error).message).not.toContain('s3cret');
    }
  });
});
