/**
 * The `Host` allowlist: the defence against DNS rebinding.
 *
 * A server on a loopback address is out of the network's reach, but not out of a browser's: a
 * page on `http://evil.example:8000` whose name the attacker re-points to `127.0.0.1` talks to the
 * local server as *its own origin* (`Origin` and `Host` both say `evil.example:8000`), so a CORS
 * check that trusts `Host` lets it through, and so does the same-origin policy. The request's
 * `Host` is the one thing the attacker cannot choose: it is the name the page was loaded from.
 * So when the server listens on loopback, a `Host` that is not a loopback name or address (or one
 * the operator listed) is refused with `421 host_not_allowed` before any work.
 *
 * Why 421 (Misdirected Request, RFC 9110 §15.5.20): the server is "unwilling to produce an
 * authoritative response for the target URI": the request reached it under a name that is not
 * its own. It is not a matter of credentials (401/403 would send an operator to API keys and
 * CORS_ORIGINS), and it tells a proxy that forwards another name what to fix.
 *
 * @module
 */
import { StreamwellError } from '../../errors/index.ts';

/**
 * The refusal of a request whose `Host` is not on the allowlist.
 *
 * @returns `StreamwellError` `host_not_allowed` (421)
 */
export function createHostNotAllowedError(): StreamwellError {
  return new StreamwellError(
    'host_not_allowed',
    'This server does not answer to this host name. Add it to ALLOWED_HOSTS if it should.',
    { status: 421 },
  );
}

/** Options of {@link createHostAllowlist}. */
export interface HostAllowlistOptions {
  /**
   * The address the server listens on (the reference server's `HOST`). A loopback address
   * (`127.0.0.1` and the rest of 127/8, `::1`, `localhost`) turns the check on; a wildcard
   * (`0.0.0.0`, `::`) or public address leaves it off unless {@link HostAllowlistOptions.hosts}
   * is set, because such a server is reachable under names it cannot know.
   */
  readonly listenHost: string;
  /**
   * Further allowed `Host` names, e.g. `chat.example.com` (any port), `chat.example.com:8443`
   * (that port only), `.example.com` (the domain and every subdomain). `*` turns the check off.
   * Setting any other entry turns the check on whatever `listenHost` is. Loopback names are
   * always allowed while the check is on.
   *
   * @defaultValue []
   */
  readonly hosts?: readonly string[];
}

/** The decision on a request's `Host`. */
export interface HostAllowlist {
  /** Whether `Host` is checked at all (false: every `Host` passes). */
  readonly enforced: boolean;
  /**
   * Whether a request with this `Host` header may proceed. A missing `Host` passes (browsers
   * always send one; Node refuses HTTP/1.1 requests without it).
   *
   * @param host - the `Host` header value, e.g. `localhost:8000`
   */
  isAllowed(host: string | undefined): boolean;
  /**
   * Throws when the `Host` is not allowed.
   *
   * @throws StreamwellError `host_not_allowed` (421)
   */
  assertAllowed(host: string | undefined): void;
}

/** A `Host` value split into its lower-case name (IPv6 in brackets) and port, or undefined. */
function parseHost(host: string): { name: string; port: string } | undefined {
  // Only the characters a host and port may hold: no userinfo (`evil@localhost`), path, query,
  // fragment or whitespace, which a URL parser would otherwise read past.
  if (host.length === 0 || host.length > 300 || !/^[A-Za-z0-9.\-_:[\]]+$/.test(host)) return undefined;
  let url: URL;
  try {
    url = new URL(`http://${host}`);
  } catch {
    return undefined;
  }
  // `new URL` canonicalizes `127.1`, `0x7f.0.0.1` and `[0:0::1]` to one spelling each.
  let name = url.hostname.toLowerCase();
  if (name.endsWith('.')) name = name.slice(0, -1);
  return { name, port: url.port };
}

/**
 * Whether a host name or address is loopback: `localhost` and `*.localhost` (RFC 6761 §6.3),
 * 127.0.0.0/8, `::1`, and the IPv4-mapped loopback.
 *
 * @param name - a host name or address, IPv6 with or without brackets, no port
 * @returns true for loopback
 */
export function isLoopbackHost(name: string): boolean {
  const parsed = parseHost(name.includes(':') && !name.startsWith('[') ? `[${name}]` : name);
  if (parsed === undefined) return false;
  const host = parsed.name;
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)) return true;
  return host === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(host);
}

/** One allowlist entry, matched against a parsed `Host`. */
type HostPattern = (host: { name: string; port: string }) => boolean;

function compilePattern(entry: string): HostPattern {
  const domain = entry.startsWith('.');
  const parsed = parseHost(domain ? entry.slice(1) : entry);
  if (parsed === undefined || parsed.name === '') {
    throw new TypeError(
      `${JSON.stringify(entry)} is not a host name (expected e.g. chat.example.com, chat.example.com:8443 or .example.com)`,
    );
  }
  const { name, port } = parsed;
  const hasPort = /:\d+$/.test(entry) && !entry.endsWith(']');
  return (host) =>
    (domain ? host.name === name || host.name.endsWith(`.${name}`) : host.name === name) &&
    (!hasPort || host.port === port);
}

/**
 * Creates the `Host` allowlist of a server.
 *
 * @param options - the listening address and extra names
 * @returns the allowlist
 * @throws TypeError when an entry of `hosts` is not a host name (`user@host`, paths and URLs included)
 * @example
 * const hosts = createHostAllowlist({ listenHost: '127.0.0.1' });
 * hosts.isAllowed('localhost:8000'); // true
 * hosts.isAllowed('evil.example:8000'); // false: DNS rebinding
 * const cors = createCorsPolicy({ hosts });
 */
export function createHostAllowlist(options: HostAllowlistOptions): HostAllowlist {
  const entries = options.hosts ?? [];
  const open = entries.includes('*');
  const patterns = entries.filter((entry) => entry !== '*').map((entry) => compilePattern(entry.trim()));
  const loopback = isLoopbackHost(options.listenHost);
  const enforced = !open && (loopback || patterns.length > 0);
  // A server on one public address answers to that address as well.
  const listen = parseHost(
    options.listenHost.includes(':') && !options.listenHost.startsWith('[')
      ? `[${options.listenHost}]`
      : options.listenHost,
  );
  const wildcard = listen === undefined || listen.name === '0.0.0.0' || listen.name === '[::]';
  if (!loopback && !wildcard && listen !== undefined) patterns.push((host) => host.name === listen.name);

  // The verdict depends on the Host value alone, and a server sees the same one request after
  // request: the last verdict is kept (one entry, so nothing grows), which saves the two URL
  // parses of `decide` (~3 µs each) on every request but the first of each new Host.
  let lastHost: string | undefined;
  let lastVerdict = false;

  function decide(host: string): boolean {
    const parsed = parseHost(host);
    if (parsed === undefined) return false;
    if (isLoopbackHost(parsed.name)) return true;
    return patterns.some((matches) => matches(parsed));
  }

  function isAllowed(host: string | undefined): boolean {
    if (!enforced || host === undefined) return true;
    if (host !== lastHost) {
      lastVerdict = decide(host);
      lastHost = host;
    }
    return lastVerdict;
  }

  return {
    enforced,
    isAllowed,
    assertAllowed(host) {
      if (!isAllowed(host)) throw createHostNotAllowedError();
    },
  };
}
