/**
 * Optional bearer auth for the stream endpoints (`API_KEYS`).
 *
 * Each key has an id; the id (never the key) is the principal that owns the streams it starts, so
 * only that principal can resume or cancel them, and the key never appears in logs or events.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';

/** One accepted key. */
export interface ApiKey {
  /** The principal name: appears in logs and owns streams. */
  readonly id: string;
  /** The secret a client sends as `Authorization: Bearer <key>`. */
  readonly key: string;
}

/** Decides who is calling. */
export interface ApiKeyAuth {
  /** True when keys are configured (requests without a valid key are refused). */
  readonly enabled: boolean;
  /**
   * The principal for a credential: the key's id, or undefined when auth is disabled.
   *
   * @param credential - the bearer token (not the whole header)
   * @throws StreamwellError `unauthorized` (401) when auth is enabled and the token is missing or wrong
   */
  authenticate(credential: string | undefined): string | undefined;
  /**
   * The principal for an `Authorization` header value.
   *
   * @throws StreamwellError `unauthorized` (401)
   */
  authenticateHeader(authorization: string | undefined): string | undefined;
}

/**
 * Parses `API_KEYS`: comma-separated entries, each `id:key` or just `key` (then the id is
 * `key1`, `key2`, ... by position). Blank entries are ignored.
 *
 * @param text - the variable's value
 * @returns the keys
 * @throws TypeError on a duplicate id or key, an empty key, or whitespace inside a key
 * @example parseApiKeys('alice:sk-1,bob:sk-2') // [{ id: 'alice', key: 'sk-1' }, { id: 'bob', key: 'sk-2' }]
 */
export function parseApiKeys(text: string | undefined): ApiKey[] {
  const keys: ApiKey[] = [];
  const entries = (text ?? '').split(',').map((entry) => entry.trim());
  for (const entry of entries) {
    if (entry === '') continue;
    const colon = entry.indexOf(':');
    const id = colon === -1 ? `key${keys.length + 1}` : entry.slice(0, colon).trim();
    const key = colon === -1 ? entry : entry.slice(colon + 1).trim();
    if (id === '' || key === '') throw new TypeError(`API key entry ${keys.length + 1} has an empty id or key`);
    if (/\s/.test(key)) throw new TypeError(`API key "${id}" contains whitespace`);
    if (keys.some((other) => other.id === id)) throw new TypeError(`API key id "${id}" is used twice`);
    if (keys.some((other) => other.key === key)) throw new TypeError(`API key "${id}" repeats another key`);
    keys.push({ id, key });
  }
  return keys;
}

/** Compares in time that depends only on the lengths, not on where the strings differ. */
function timingSafeEqual(left: string, right: string): boolean {
  let difference = left.length ^ right.length;
  const length = Math.max(left.length, right.length);
  for (let index = 0; index < length; index += 1) {
    difference |= (left.charCodeAt(index) | 0) ^ (right.charCodeAt(index) | 0);
  }
  return difference === 0;
}

/**
 * Reads the token of an `Authorization: Bearer <token>` header.
 *
 * @param authorization - the header value
 * @returns the token, or undefined when the header is absent or not a bearer credential
 */
export function readBearerToken(authorization: string | undefined): string | undefined {
  if (authorization === undefined) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization);
  return match?.[1];
}

/**
 * Creates the bearer auth. With no keys every request passes and has no principal.
 *
 * @param keys - accepted keys (see {@link parseApiKeys})
 * @returns the auth
 */
export function createApiKeyAuth(keys: readonly ApiKey[] = []): ApiKeyAuth {
  const enabled = keys.length > 0;
  const unauthorized = (): StreamwellError =>
    new StreamwellError('unauthorized', 'A valid API key is required: send Authorization: Bearer <key>.', {
      status: 401,
    });
  const auth: ApiKeyAuth = {
    enabled,
    authenticate(credential) {
      if (!enabled) return undefined;
      if (credential === undefined) throw unauthorized();
      let principal: string | undefined;
      // Check every key so the time taken does not reveal which one nearly matched.
      for (const entry of keys) if (timingSafeEqual(entry.key, credential)) principal = entry.id;
      if (principal === undefined) throw unauthorized();
      return principal;
    },
    authenticateHeader(authorization) {
      return auth.authenticate(readBearerToken(authorization));
    },
  };
  return auth;
}
