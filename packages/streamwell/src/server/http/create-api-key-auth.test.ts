import { describe, expect, it } from 'vitest';
import { createApiKeyAuth, parseApiKeys, readBearerToken } from './create-api-key-auth.ts';

describe('API keys', () => {
  it('parses id:key and bare keys', () => {
    expect(parseApiKeys(' alice:sk-1 , sk-2,, ')).toEqual([
      { id: 'alice', key: 'sk-1' },
      { id: 'key2', key: 'sk-2' },
    ]);
    expect(parseApiKeys(undefined)).toEqual([]);
    expect(() => parseApiKeys('a:k1,a:k2')).toThrow(/twice/);
    expect(() => parseApiKeys('a:k1,b:k1')).toThrow(/repeats/);
    expect(() => parseApiKeys('a:')).toThrow(/empty/);
  });

  it('maps a bearer key to its id and refuses anything else', () => {
    const auth = createApiKeyAuth(parseApiKeys('alice:sk-alice,bob:sk-bob'));
    expect(auth.authenticateHeader('Bearer sk-bob')).toBe('bob');
    expect(auth.authenticateHeader('bearer   sk-alice ')).toBe('alice');
    for (const header of [undefined, 'Bearer', 'Bearer sk-alicex', 'Basic sk-alice', 'sk-alice']) {
      expect(() => auth.authenticateHeader(header), String(header)).toThrow(
        expect.objectContaining({ code: 'unauthorized', status: 401 }),
      );
    }
  });

  it('lets everything through without keys, with no principal', () => {
    const auth = createApiKeyAuth();
    expect(auth.enabled).toBe(false);
    expect(auth.authenticateHeader(undefined)).toBeUndefined();
    expect(readBearerToken('Bearer a b')).toBeUndefined();
  });
});
