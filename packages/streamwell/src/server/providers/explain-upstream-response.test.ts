import { describe, expect, it } from 'vitest';
import { explainUpstreamResponse, type UpstreamResponseFacts } from './explain-upstream-response.ts';

const facts = (overrides: Partial<UpstreamResponseFacts>): UpstreamResponseFacts => ({
  status: 200,
  contentType: 'text/event-stream; charset=utf-8',
  contentEncoding: '',
  allow: '',
  body: '',
  ...overrides,
});

describe('explainUpstreamResponse', () => {
  it('accepts a plain event stream', () => {
    expect(explainUpstreamResponse(facts({}))).toBeUndefined();
  });

  it('says a 405 is the wrong route, with what it allows', () => {
    const problem = explainUpstreamResponse(
      facts({
        status: 405,
        statusText: 'Method Not Allowed',
        allow: 'GET',
        contentType: 'application/json',
        body: '{"detail":"Method Not Allowed"}',
      }),
    );
    expect(problem?.problem).toBe(
      'answered 405 Method Not Allowed to POST (it allows GET): this URL is not the route that streams replies',
    );
    expect(problem?.fix).toMatch(/UPSTREAM_URL/);
  });

  it("names a proxy's HTML 502 page by its title and points behind the proxy", () => {
    const body =
      '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>';
    const problem = explainUpstreamResponse(
      facts({ status: 502, statusText: 'Bad Gateway', contentType: 'text/html', body }),
    );
    expect(problem?.problem).toBe(
      'answered 502 Bad Gateway with an HTML page ("502 Bad Gateway"): a proxy or load balancer in front of the backend answered, not the backend',
    );
    expect(problem?.fix).toMatch(/backend behind that proxy is down/);
  });

  it('says a JSON body came instead of a stream, and quotes it', () => {
    const problem = explainUpstreamResponse(
      facts({ contentType: 'application/json', body: '{"reply": "Hello there"}' }),
    );
    expect(problem?.problem).toMatch(
      /^answered HTTP 200 with one JSON body .* instead of an event stream \(the body starts "\{\\"reply\\": \\"Hello there\\"\}"\)$/,
    );
    expect(problem?.fix).toMatch(/StreamingResponse\(event_generator\(\), media_type="text\/event-stream"\)/);
  });

  it("reads FastAPI's validation errors and other statuses", () => {
    const body = '{"detail":[{"type":"missing","loc":["body","prompt"],"msg":"Field required"}]}';
    expect(explainUpstreamResponse(facts({ status: 422, contentType: 'application/json', body }))?.problem).toBe(
      'rejected the request body with HTTP 422: "body.prompt: Field required"',
    );
    expect(explainUpstreamResponse(facts({ status: 401, body: '{"detail":"Not authenticated"}' }))?.fix).toMatch(
      /UPSTREAM_HEADERS/,
    );
    expect(explainUpstreamResponse(facts({ status: 500, body: 'Internal Server Error' }))?.problem).toBe(
      'answered HTTP 500: "Internal Server Error"',
    );
  });

  it('says a redirect is not followed', () => {
    expect(
      explainUpstreamResponse(
        facts({ status: 307, statusText: 'Temporary Redirect', location: 'https://b/api/stream/message' }),
      )?.problem,
    ).toBe('answered 307 Temporary Redirect, redirecting to "https://b/api/stream/message"');
  });

  it('refuses a compressed stream and a stream without its type', () => {
    expect(explainUpstreamResponse(facts({ contentEncoding: 'gzip' }))?.problem).toMatch(/Content-Encoding: gzip/);
    expect(explainUpstreamResponse(facts({ contentType: '', body: 'data: {"token":"a"}' }))?.problem).toBe(
      'answered HTTP 200 with no Content-Type instead of text/event-stream (the body starts "data: {\\"token\\":\\"a\\"}")',
    );
  });
});
