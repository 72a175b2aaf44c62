import { describe, expect, it } from 'vitest';
import {
  createUpstreamError,
  describeUrl,
  headerSecrets,
  readUpstreamMessage,
  scrubSecret,
} from './create-upstream-error.ts';

describe('createUpstreamError', () => {
  it('maps 401 and 403 to upstream_auth, others to upstream_error', () => {
    expect(createUpstreamError({ target: 'POST u', status: 401 }).code).toBe('upstream_auth');
    expect(createUpstreamError({ target: 'POST u', status: 403 }).code).toBe('upstream_auth');
    expect(createUpstreamError({ target: 'POST u', status: 500 }).code).toBe('upstream_error');
    expect(createUpstreamError({ target: 'POST u' }).code).toBe('upstream_error');
  });

  it('names status and target and never the key', () => {
    const error = createUpstreamError({
      target: 'POST http://h/v1/chat/completions',
      status: 401,
      upstreamMessage: 'Incorrect API key provided: sk-secret-value-123',
      apiKey: 'sk-secret-value-123',
    });
    expect(error.message).toContain('401');
    expect(error.message).toContain('http://h/v1/chat/completions');
    expect(error.message).not.toContain('sk-secret-value-123');
  });

  it('marks 429 and 5xx retryable', () => {
    expect(createUpstreamError({ target: 't', status: 429 }).retryable).toBe(true);
    expect(createUpstreamError({ target: 't', status: 503 }).retryable).toBe(true);
    expect(createUpstreamError({ target: 't', status: 400 }).retryable).toBe(false);
  });
});

describe('helpers', () => {
  it('scrubSecret removes the key and bearer tokens', () => {
    expect(scrubSecret('key sk-abc123 and Bearer xyz', 'sk-abc123')).toBe('key [redacted] and Bearer [redacted]');
  });

  it('describeUrl drops credentials, query and fragment', () => {
    expect(describeUrl('http://user:pass@host:8000/v1/models?key=1#x')).toBe('http://host:8000/v1/models');
  });

  it('readUpstreamMessage reads OpenAI, plain and non-JSON bodies', () => {
    expect(readUpstreamMessage('{"error":{"message":"nope"}}')).toBe('nope');
    expect(readUpstreamMessage('{"error":"model not found"}')).toBe('model not found');
    expect(readUpstreamMessage('{"detail":"Not Found"}')).toBe('Not Found');
    expect(readUpstreamMessage('<html>502 Bad Gateway</html>')).toBe('<html>502 Bad Gateway</html>');
    expect(readUpstreamMessage('')).toBe('');
  });
});

describe('headerSecrets', () => {
  it('lists each configured value and its credential without the scheme, longest first', () => {
    expect(headerSecrets({ authorization: 'Bearer tok-123456', 'x-team': 'team-key-9', 'x-short': 'abc' })).toEqual([
      'Bearer tok-123456',
      'tok-123456',
      'team-key-9',
    ]);
    const secrets = headerSecrets({ authorization: 'Bearer tok-123456' });
    const echoed = 'Incorrect API key provided: tok-123456 (you sent Bearer tok-123456)';
    const scrubbed = secrets.reduce((text, secret) => scrubSecret(text, secret), echoed);
    expect(scrubbed).not.toContain('tok-123456');
  });
});
