/**
 * Says what is wrong with an upstream's answer when it is not a usable event stream: a `405`
 * (the URL is not the streaming route), a proxy's HTML error page (the backend behind it is
 * down), a JSON body instead of a stream (the handler returned instead of streaming), a
 * compressed stream. Shared by the `sse` provider (its error messages) and
 * `streamwell doctor --upstream` (its evidence and fixes), so both say the same thing.
 *
 * @module
 */
import { readUpstreamMessage } from './create-upstream-error.ts';

/** What was seen of the upstream's answer. */
export interface UpstreamResponseFacts {
  readonly status: number;
  /** The reason phrase, e.g. `Method Not Allowed`, when the server sent one. */
  readonly statusText?: string | undefined;
  /** `Content-Type` as sent; '' when absent. */
  readonly contentType: string;
  /** `Content-Encoding` as sent; '' when absent. */
  readonly contentEncoding: string;
  /** `Allow` as sent (with a 405); '' when absent. */
  readonly allow: string;
  /** `Location` as sent (with a redirect); '' or absent when none. */
  readonly location?: string | undefined;
  /** The start of the body (bounded by the caller), for a non-stream answer. */
  readonly body: string;
}

/** What is wrong, in words for a log line or a doctor check. */
export interface UpstreamResponseProblem {
  /** What happened, starting with the verb: `answered 405 Method Not Allowed to POST ...`. */
  readonly problem: string;
  /** What to change. */
  readonly fix: string;
}

/** Most characters of a title, a JSON body or an error message quoted in a problem. */
const MAX_QUOTE = 120;

/**
 * True for `text/event-stream` (with or without parameters).
 *
 * @param contentType - the header value
 */
export function isEventStreamType(contentType: string): boolean {
  return mediaType(contentType) === 'text/event-stream';
}

function mediaType(contentType: string): string {
  return (contentType.split(';')[0] ?? '').trim().toLowerCase();
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > MAX_QUOTE ? `${flat.slice(0, MAX_QUOTE - 3)}...` : flat);
}

function looksLikeHtml(facts: UpstreamResponseFacts): boolean {
  const type = mediaType(facts.contentType);
  return type === 'text/html' || type === 'application/xhtml+xml' || /^\s*<(!doctype|html|head|body)/i.test(facts.body);
}

/** The page's `<title>` (or first `<h1>`), which is what a proxy's error page says. */
function htmlTitle(body: string): string | undefined {
  const match = /<title[^>]*>([^<]*)<\/title>/i.exec(body) ?? /<h1[^>]*>([^<]*)<\/h1>/i.exec(body);
  const title = match?.[1]?.replace(/\s+/g, ' ').trim();
  return title === undefined || title === '' ? undefined : title;
}

/** The message of a JSON error body, including FastAPI's validation list (`{"detail": [{loc, msg}]}`). */
function jsonMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { detail?: unknown };
    if (Array.isArray(parsed.detail)) {
      return parsed.detail
        .map((entry: { loc?: unknown; msg?: unknown }) => {
          const where = Array.isArray(entry.loc) ? `${entry.loc.join('.')}: ` : '';
          return `${where}${typeof entry.msg === 'string' ? entry.msg : JSON.stringify(entry)}`;
        })
        .join('; ');
    }
  } catch {
    // Not JSON: readUpstreamMessage returns the start of the text.
  }
  return readUpstreamMessage(body);
}

function statusLine(facts: UpstreamResponseFacts): string {
  const text = facts.statusText?.trim() ?? '';
  return text === '' ? `HTTP ${facts.status}` : `${facts.status} ${text}`;
}

function explainStatus(facts: UpstreamResponseFacts): UpstreamResponseProblem {
  const line = statusLine(facts);
  if (facts.status === 405) {
    const allowed = facts.allow.trim() === '' ? '' : ` (it allows ${facts.allow.trim()})`;
    return {
      problem: `answered ${line} to POST${allowed}: this URL is not the route that streams replies`,
      fix: 'Set UPSTREAM_URL to the backend route that answers POST {"message"} with a stream (the guide\'s @app.post("/api/stream/message")); a GET-only or static route answers 405.',
    };
  }
  const location = facts.location?.trim() ?? '';
  if (facts.status >= 300 && facts.status < 400 && location !== '') {
    return {
      problem: `answered ${line}, redirecting to ${quote(location)}`,
      fix: 'Set UPSTREAM_URL to the final URL: redirects are not followed, and on the way a POST may turn into a GET without its body.',
    };
  }
  if (looksLikeHtml(facts)) {
    const title = htmlTitle(facts.body);
    const page = `an HTML page${title === undefined ? '' : ` (${quote(title)})`}`;
    if (facts.status === 502 || facts.status === 503 || facts.status === 504) {
      return {
        problem: `answered ${line} with ${page}: a proxy or load balancer in front of the backend answered, not the backend`,
        fix: "The backend behind that proxy is down, restarting or unreachable from it: check the backend process (uvicorn) and the proxy's upstream address, or point UPSTREAM_URL at the backend itself.",
      };
    }
    return {
      problem: `answered ${line} with ${page} instead of the backend's own answer`,
      fix: 'Something other than the backend answered (a web server, a login or error page): check the host, port and path of UPSTREAM_URL.',
    };
  }
  const message = jsonMessage(facts.body);
  const said = message === '' ? '' : `: ${quote(message)}`;
  if (facts.status === 401 || facts.status === 403) {
    return {
      problem: `refused the request with ${line}${said}`,
      fix: 'Put the credentials the backend expects in UPSTREAM_HEADERS (one "Name: value" per line, e.g. "Authorization: Bearer ...").',
    };
  }
  if (facts.status === 404) {
    return {
      problem: `answered ${line}${said}: nothing is served at this path`,
      fix: "Check UPSTREAM_URL's path against the backend's route (the guide's /api/stream/message).",
    };
  }
  if (facts.status === 400 || facts.status === 415 || facts.status === 422) {
    return {
      problem: `rejected the request body with ${line}${said}`,
      fix: 'streamwell POSTs the JSON {"message": TEXT} with Content-Type: application/json; the handler must read the "message" field (the guide\'s request.get("message")).',
    };
  }
  return {
    problem: `answered ${line}${said}`,
    fix:
      facts.status >= 500
        ? 'The backend failed before it streamed: read its log for this request (the guide prints "Endpoint hit!" first).'
        : 'An event stream must answer 200: check what the backend does with POST {"message"}.',
  };
}

function explainBody(facts: UpstreamResponseFacts): UpstreamResponseProblem {
  const type = facts.contentType.trim() === '' ? 'no Content-Type' : `Content-Type ${quote(facts.contentType)}`;
  const start = facts.body.trim() === '' ? '' : ` (the body starts ${quote(facts.body)})`;
  if (mediaType(facts.contentType) === 'application/json' || /^\s*[[{]/.test(facts.body)) {
    return {
      problem: `answered ${statusLine(facts)} with one JSON body (${type}) instead of an event stream${start}`,
      fix: 'The handler returned the reply instead of streaming it: return StreamingResponse(event_generator(), media_type="text/event-stream") as the guide does.',
    };
  }
  if (looksLikeHtml(facts)) {
    const title = htmlTitle(facts.body);
    return {
      problem: `answered ${statusLine(facts)} with an HTML page${title === undefined ? '' : ` (${quote(title)})`} instead of an event stream`,
      fix: "UPSTREAM_URL reaches a web page (a front end's index.html, a login or captive page), not the streaming route: check its host, port and path.",
    };
  }
  return {
    problem: `answered ${statusLine(facts)} with ${type} instead of text/event-stream${start}`,
    fix: 'Send the stream as text/event-stream: FastAPI StreamingResponse(..., media_type="text/event-stream").',
  };
}

/**
 * Explains an upstream answer that streamwell cannot relay.
 *
 * @param facts - status, headers and the start of the body
 * @returns the problem and its fix, or undefined when the answer is a usable event stream
 *   (2xx, `text/event-stream`, not compressed)
 */
export function explainUpstreamResponse(facts: UpstreamResponseFacts): UpstreamResponseProblem | undefined {
  if (facts.status < 200 || facts.status >= 300) return explainStatus(facts);
  if (!isEventStreamType(facts.contentType)) return explainBody(facts);
  const encoding = facts.contentEncoding.trim().toLowerCase();
  if (encoding !== '' && encoding !== 'identity') {
    return {
      problem: `compressed the event stream (Content-Encoding: ${encoding}) although it was not asked to`,
      fix: "Exclude the streaming route from compression (Starlette GZipMiddleware, a proxy's gzip): a compressor holds tokens back until its buffer fills.",
    };
  }
  return undefined;
}
