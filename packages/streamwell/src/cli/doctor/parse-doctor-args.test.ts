import { describe, expect, it } from 'vitest';
import { parseDoctorArgs } from './parse-doctor-args.ts';

describe('parseDoctorArgs', () => {
  it('reads every option', () => {
    const parsed = parseDoctorArgs([
      'http://127.0.0.1:8000/api/stream/message',
      '-m',
      'hi',
      '--origin',
      'https://app.example.com',
      '--ws',
      'ws://127.0.0.1:8000/ws/stream',
      '-H',
      'Authorization: Bearer abc',
      '-H',
      'X-Tenant:  blue ',
      '--proxy-idle-timeout',
      '30000',
      '--timeout',
      '5000',
      '--json',
      '-q',
    ]);
    expect(parsed.options).toMatchObject({
      url: 'http://127.0.0.1:8000/api/stream/message',
      message: 'hi',
      origin: 'https://app.example.com',
      ws: 'ws://127.0.0.1:8000/ws/stream',
      headers: { Authorization: 'Bearer abc', 'X-Tenant': 'blue' },
      proxyIdleTimeoutMs: 30_000,
      timeoutMs: 5000,
      provider: false,
    });
    expect(parsed.json).toBe(true);
    expect(parsed.quiet).toBe(true);
  });

  it('allows --provider or --ws without a stream URL', () => {
    expect(parseDoctorArgs(['--provider']).options.provider).toBe(true);
    expect(parseDoctorArgs(['--ws', 'wss://example.com/ws/stream']).options.url).toBeUndefined();
  });

  it('reads --upstream, alone or with the gateway URL', () => {
    expect(parseDoctorArgs(['--upstream', 'http://127.0.0.1:8001/api/stream/message']).options).toMatchObject({
      url: undefined,
      upstream: 'http://127.0.0.1:8001/api/stream/message',
    });
    expect(
      parseDoctorArgs(['http://127.0.0.1:8000/api/stream/message', '-m', 'hi', '--upstream', 'http://b:8001/s'])
        .options,
    ).toMatchObject({ url: 'http://127.0.0.1:8000/api/stream/message', upstream: 'http://b:8001/s', message: 'hi' });
    expect(() => parseDoctorArgs(['--upstream', 'b:8001/s'])).toThrow('--upstream');
  });

  it('refuses what cannot work, with a message that says why', () => {
    expect(() => parseDoctorArgs([])).toThrow('Give the stream URL');
    expect(() => parseDoctorArgs(['ftp://example.com'])).toThrow('must use http: or https:');
    expect(() => parseDoctorArgs(['http://x', '--origin', 'https://app.example.com/page'])).toThrow(
      '--origin must be an origin',
    );
    expect(() => parseDoctorArgs(['http://x', '--ws', 'http://x/ws'])).toThrow('--ws must use ws: or wss:');
    expect(() => parseDoctorArgs(['http://x', '-m', 'a', '--data', '{}'])).toThrow('Use -m or --data, not both');
    expect(() => parseDoctorArgs(['http://x', '--data', '{oops'])).toThrow('--data must be JSON');
    expect(() => parseDoctorArgs(['http://x', '-H', 'no-colon'])).toThrow("-H expects 'Name: value'");
    expect(() => parseDoctorArgs(['http://x', '--timeout', '5s'])).toThrow('--timeout must be a positive number');
    expect(() => parseDoctorArgs(['http://x', '--colour'])).toThrow();
  });
});
