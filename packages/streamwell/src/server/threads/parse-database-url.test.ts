import { describe, expect, it } from 'vitest';
import { describeDatabase, parseDatabaseUrl } from './parse-database-url.ts';

describe('parseDatabaseUrl', () => {
  it('defaults to ./data/streamwell.db under the working directory', () => {
    expect(parseDatabaseUrl(undefined, '/srv/app')).toEqual({ dialect: 'sqlite', path: '/srv/app/data/streamwell.db' });
    expect(parseDatabaseUrl('  ', '/srv/app')).toEqual({ dialect: 'sqlite', path: '/srv/app/data/streamwell.db' });
  });

  it('reads SQLite files as file: URLs, absolute, relative or in memory', () => {
    expect(parseDatabaseUrl('file:/var/lib/x.db', '/srv')).toEqual({ dialect: 'sqlite', path: '/var/lib/x.db' });
    expect(parseDatabaseUrl('file:///var/lib/my%20x.db', '/srv')).toEqual({
      dialect: 'sqlite',
      path: '/var/lib/my x.db',
    });
    expect(parseDatabaseUrl('file:./db/x.db', '/srv')).toEqual({ dialect: 'sqlite', path: '/srv/db/x.db' });
    expect(parseDatabaseUrl('FILE:x.db?mode=rwc', '/srv')).toEqual({ dialect: 'sqlite', path: '/srv/x.db' });
    expect(parseDatabaseUrl('file::memory:', '/srv')).toEqual({ dialect: 'sqlite', path: ':memory:' });
  });

  it('passes PostgreSQL URLs through', () => {
    for (const url of [
      'postgres://u:p@db:5432/chat',
      'postgresql://db/chat?sslmode=require',
      'postgres:///chat?host=/run/postgresql',
    ]) {
      expect(parseDatabaseUrl(url)).toEqual({ dialect: 'postgres', connectionString: url });
    }
  });

  it('refuses anything else with a clear error that never repeats the value', () => {
    const cases: [string, RegExp][] = [
      ['mysql://root:secret@db/x', /scheme "mysql:", which is not supported; expected file:/],
      ['./data/x.db', /DATABASE_URL is not a URL; expected file:\/path/],
      ['file:', /names no file/],
      ['file:/var/lib/', /names no file/],
      ['file://remote-host/x.db', /not a usable file URL/],
      ['postgres://', /names no PostgreSQL host/],
    ];
    for (const [value, message] of cases) {
      let error: unknown;
      try {
        parseDatabaseUrl(value, '/srv');
      } catch (caught) {
        error = caught;
      }
      expect(error, value).toMatchObject({ code: 'invalid_config', message: expect.stringMatching(message) });
      expect((error as Error).message).not.toContain('secret');
    }
  });

  it('names a database without its password', () => {
    expect(describeDatabase(parseDatabaseUrl('postgres://u:secret@db.internal:5432/chat'))).toBe(
      'PostgreSQL db.internal:5432/chat',
    );
    expect(describeDatabase(parseDatabaseUrl('file:/x.db'))).toBe('SQLite /x.db');
  });
});
