import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isStreamwellError } from '../../errors/index.ts';
import { type MaybeParsedRequest, readNodeBody } from './read-node-body.ts';

/** A request stream with headers, fed by the test (the parts of IncomingMessage the reader uses). */
function fakeRequest(headers: Record<string, string>): PassThrough & MaybeParsedRequest {
  const stream = new PassThrough() as PassThrough & MaybeParsedRequest;
  (stream as unknown as { headers: IncomingMessage['headers'] }).headers = headers;
  return stream;
}

const text = (bytes: Uint8Array): string => Buffer.from(bytes).toString('utf8');

describe('readNodeBody', () => {
  it('resolves as soon as Content-Length bytes arrived, without waiting for the end of the stream', {
    timeout: 2000,
  }, async () => {
    const request = fakeRequest({ 'content-length': '13' });
    const body = readNodeBody(request, 1024);
    request.write('{"a":');
    request.write('"héé"}'); // 13 bytes in all: é is two
    // The stream never ends: only the declared length can complete the read.
    await expect(body.then(text)).resolves.toBe('{"a":"héé"}');
  });

  it('without a Content-Length (chunked), joins the chunks at the end of the stream', async () => {
    const request = fakeRequest({ 'transfer-encoding': 'chunked' });
    const body = readNodeBody(request, 1024);
    request.write('one ');
    request.write('two');
    let settled = false;
    void body.then(() => {
      settled = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(settled).toBe(false);
    request.end();
    await expect(body.then(text)).resolves.toBe('one two');
  });

  it('refuses a body over the limit with body_too_large, whatever the declared length', async () => {
    const request = fakeRequest({ 'content-length': '4' });
    const body = readNodeBody(request, 8);
    request.write('0123456789');
    const error = await body.catch((caught: unknown) => caught);
    expect(isStreamwellError(error) && error.code).toBe('body_too_large');
  });

  it('rejects when the client goes away before the whole body', async () => {
    const request = fakeRequest({ 'content-length': '100' });
    const body = readNodeBody(request, 1024);
    request.write('partial');
    request.destroy();
    await expect(body).rejects.toThrow(/closed the connection/);
  });

  it("a client that goes away mid-body is the client's failure: bad_request 400, not a server error", async () => {
    const closed = fakeRequest({ 'content-length': '100' });
    const afterClose = readNodeBody(closed, 1024);
    closed.destroy();
    await expect(afterClose).rejects.toMatchObject({ code: 'bad_request', status: 400 });
    // Node's own `aborted` error (ECONNRESET) on a reset connection.
    const reset = fakeRequest({ 'content-length': '100' });
    const afterReset = readNodeBody(reset, 1024);
    reset.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    const failure = await afterReset.catch((error: unknown) => error);
    expect(isStreamwellError(failure) && failure.code === 'bad_request' && failure.status === 400).toBe(true);
  });

  it('uses what a framework body parser already read', async () => {
    const request = fakeRequest({ 'content-length': '9' });
    request.body = { message: 'x' };
    await expect(readNodeBody(request, 1024).then(text)).resolves.toBe('{"message":"x"}');
  });
});
