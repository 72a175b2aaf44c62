import { describe, expect, it } from 'vitest';
import { createCorsPolicy } from './create-cors-policy.ts';
import { createHostAllowlist, isLoopbackHost } from './create-host-allowlist.ts';

describe('createHostAllowlist', () => {
  it('answers each Host on its own when allowed and refused ones alternate (the kept last verdict)', () => {
    const hosts = createHostAllowlist({ listenHost: '127.0.0.1' });
    for (let round = 0; round < 3; round += 1) {
      expect(hosts.isAllowed('localhost:8000')).toBe(true);
      expect(hosts.isAllowed('localhost:8000')).toBe(true);
      expect(hosts.isAllowed('evil.example:8000')).toBe(false);
      expect(hosts.isAllowed('evil.example:8000')).toBe(false);
      expect(hosts.isAllowed(undefined)).toBe(true);
    }
  });

  it('on a loopback address answers loopback names only, with any port', () => {
    for (const listenHost of ['127.0.0.1', '::1', 'localhost', '[::1]']) {
      const hosts = createHostAllowlist({ listenHost });
      expect(hosts.enforced, listenHost).toBe(true);
      for (const good of [
        'localhost',
        'localhost:8000',
        'LOCALHOST:1',
        'app.localhost:5173',
        '127.0.0.1:8000',
        '127.1',
        '[::1]:8000',
        '[0:0::1]',
        undefined,
      ]) {
        expect(hosts.isAllowed(good), `${listenHost} ${good}`).toBe(true);
      }
      for (const bad of [
        'evil.example',
        'evil.example:8000',
        'localhost.evil.example',
        '127.0.0.1.nip.io',
        'evil@localhost',
        'localhost/x',
        'localhost#x',
        'localhost x',
        '',
        '[::2]',
        '10.0.0.1:8000',
        '0.0.0.0:8000',
      ]) {
        expect(hosts.isAllowed(bad), `${listenHost} ${bad}`).toBe(false);
      }
    }
  });

  it('throws host_not_allowed (421)', () => {
    expect(() => createHostAllowlist({ listenHost: '127.0.0.1' }).assertAllowed('evil.example')).toThrow(
      expect.objectContaining({ code: 'host_not_allowed', status: 421 }),
    );
  });

  it('extends the list with exact names, names with a port and domains', () => {
    const hosts = createHostAllowlist({
      listenHost: '127.0.0.1',
      hosts: ['chat.example.com', 'api.example.com:8443', '.corp.example'],
    });
    expect(hosts.isAllowed('chat.example.com:8000')).toBe(true);
    expect(hosts.isAllowed('CHAT.example.com.')).toBe(true);
    expect(hosts.isAllowed('api.example.com:8443')).toBe(true);
    expect(hosts.isAllowed('api.example.com')).toBe(false);
    expect(hosts.isAllowed('a.b.corp.example')).toBe(true);
    expect(hosts.isAllowed('corp.example')).toBe(true);
    expect(hosts.isAllowed('evilcorp.example')).toBe(false);
    expect(hosts.isAllowed('chat.example.com.evil.example')).toBe(false);
  });

  it('is off on a public or wildcard address unless hosts are listed; * turns it off', () => {
    expect(createHostAllowlist({ listenHost: '0.0.0.0' }).isAllowed('anything.example')).toBe(true);
    expect(createHostAllowlist({ listenHost: '::' }).enforced).toBe(false);
    expect(createHostAllowlist({ listenHost: '127.0.0.1', hosts: ['*'] }).isAllowed('evil.example')).toBe(true);
    const listed = createHostAllowlist({ listenHost: '203.0.113.5', hosts: ['chat.example.com'] });
    expect(listed.enforced).toBe(true);
    expect(listed.isAllowed('203.0.113.5:8000')).toBe(true);
    expect(listed.isAllowed('localhost:8000')).toBe(true);
    expect(listed.isAllowed('evil.example')).toBe(false);
  });

  it('refuses entries that are not host names', () => {
    for (const bad of ['http://example.com', 'user@example.com', 'example.com/x', '', ' ', '2001:db8::1']) {
      expect(() => createHostAllowlist({ listenHost: '127.0.0.1', hosts: [bad] }), bad).toThrow(TypeError);
    }
  });

  it('knows loopback addresses', () => {
    expect(
      ['127.0.0.1', '127.9.9.9', '::1', '[::1]', 'localhost', 'x.localhost', '::ffff:127.0.0.1'].map(isLoopbackHost),
    ).toEqual([true, true, true, true, true, true, true]);
    expect(['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1'].map(isLoopbackHost)).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
  });
});

describe('createCorsPolicy with a host allowlist', () => {
  const cors = createCorsPolicy({ hosts: createHostAllowlist({ listenHost: '127.0.0.1' }) });

  it('no longer takes a rebound Host for the own origin', () => {
    expect(cors.isAllowed('http://evil.example:8000', 'evil.example:8000')).toBe(false);
    expect(cors.responseHeaders('http://evil.example:8000', 'evil.example:8000')).toEqual({ Vary: 'Origin' });
    expect(() => cors.assertAllowed('http://evil.example:8000', 'evil.example:8000')).toThrow(
      expect.objectContaining({ code: 'host_not_allowed' }),
    );
    // Without Origin too: a rebound page's GET carries none.
    expect(() => cors.assertAllowed(undefined, 'evil.example:8000')).toThrow(
      expect.objectContaining({ code: 'host_not_allowed' }),
    );
    expect(cors.isAllowed('http://localhost:8000', 'localhost:8000')).toBe(true);
  });
});
