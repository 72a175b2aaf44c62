import { describe, expect, it } from 'vitest';
import { createCorsPolicy, normalizeOrigin } from './create-cors-policy.ts';

describe('createCorsPolicy', () => {
  const cors = createCorsPolicy({ origins: ['http://localhost:3000', 'https://App.example.com:443'] });

  it("allows listed origins and the request's own origin, nothing else", () => {
    expect(cors.isAllowed('http://localhost:3000', 'api.example.com')).toBe(true);
    expect(cors.isAllowed('https://app.example.com', 'api.example.com')).toBe(true);
    expect(cors.isAllowed('https://api.example.com', 'api.example.com')).toBe(true);
    expect(cors.isAllowed('http://api.example.com:80', 'api.example.com:80')).toBe(false);
    expect(cors.isAllowed('http://api.example.com', 'api.example.com:80')).toBe(true);
    // Only the spelling browsers send: no upper case, default port, userinfo or trailing slash.
    for (const lookAlike of [
      'HTTP://localhost:3000',
      'http://LOCALHOST:3000',
      'http://localhost:3000/',
      'http://evil.example@localhost:3000',
      'https://app.example.com:443',
    ]) {
      expect(cors.isAllowed(lookAlike, 'api.example.com'), lookAlike).toBe(false);
    }
    expect(cors.isAllowed('http://127.0.0.1:8000', '127.0.0.1:8000')).toBe(true);
    expect(cors.isAllowed('http://127.0.0.1:8001', '127.0.0.1:8000')).toBe(false);
    expect(cors.isAllowed('http://localhost:3000.evil.example', 'api.example.com')).toBe(false);
    expect(cors.isAllowed('null', 'api.example.com')).toBe(false);
    expect(cors.isAllowed('https://evil.example', undefined)).toBe(false);
  });

  it('answers each Origin and Host pair on its own when verdicts alternate (the kept last verdict)', () => {
    const policy = createCorsPolicy({ origins: ['http://localhost:3000'] });
    for (let round = 0; round < 3; round += 1) {
      expect(policy.isAllowed('https://api.example.com', 'api.example.com')).toBe(true);
      expect(policy.isAllowed('https://api.example.com', 'other.example.com')).toBe(false);
      expect(policy.isAllowed('https://evil.example', 'api.example.com')).toBe(false);
      expect(policy.isAllowed('http://localhost:3000', 'api.example.com')).toBe(true);
      expect(policy.isAllowed('https://api.example.com', undefined)).toBe(false);
    }
  });

  it('never echoes a refused origin, and always varies on Origin', () => {
    expect(cors.responseHeaders('https://evil.example', 'api.example.com')).toEqual({ Vary: 'Origin' });
    expect(cors.responseHeaders(undefined, 'api.example.com')).toEqual({ Vary: 'Origin' });
    expect(cors.responseHeaders('http://localhost:3000', 'x')).toMatchObject({
      Vary: 'Origin',
      'Access-Control-Allow-Origin': 'http://localhost:3000',
      'Access-Control-Allow-Credentials': 'true',
    });
    expect(() => cors.assertAllowed('https://evil.example', 'x')).toThrow(
      expect.objectContaining({ code: 'origin_not_allowed', status: 403 }),
    );
    expect(() => cors.assertAllowed(undefined, 'x')).not.toThrow();
  });

  it('can refuse the own origin too', () => {
    const strict = createCorsPolicy({ allowOwnOrigin: false });
    expect(strict.isAllowed('http://127.0.0.1:8000', '127.0.0.1:8000')).toBe(false);
  });

  it('refuses list entries that are not bare origins', () => {
    expect(normalizeOrigin('HTTPS://Example.COM:443/')).toBe('https://example.com');
    for (const bad of ['*', 'example.com', 'https://example.com/app', 'ftp://example.com', 'https://u:p@example.com']) {
      expect(() => normalizeOrigin(bad), bad).toThrow(TypeError);
    }
  });
});
