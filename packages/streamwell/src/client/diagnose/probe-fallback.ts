/**
 * The probe fallback shared by `streamwell doctor` and {@link diagnoseEndpoint}: a diagnosis
 * without a message GETs the URL; when that GET is refused with `405 Method Not Allowed` (the
 * troubleshooting guide's endpoint, and streamwell's `/api/stream/message`, are POST-only), it
 * POSTs a short probe message and runs the whole checklist on that reply instead of stopping at
 * "not reachable". The `reachable` check's evidence says that it did.
 *
 * @module
 */

/** The message POSTed as `{"message": ...}` after a GET was refused with 405. Short, so a real model answers briefly. */
export const PROBE_MESSAGE = 'Say hello (streamwell doctor probe)';

/** The refused GET that led to the probe. */
export interface ProbeFallback {
  /** The status of the refused GET (405). */
  readonly status: number;
  /** Its `Allow` header, when the server sent one. */
  readonly allow: string | undefined;
  /** The message that was POSTed instead. */
  readonly message: string;
}

/** What {@link sendWithProbeFallback} needs to know of a reply. */
export interface ReplyHead {
  /** The status, undefined when no response arrived. */
  readonly status: number | undefined;
  /** The `Allow` header, when the server sent (and exposed) one. */
  readonly allow: string | undefined;
}

/**
 * Sends the request as asked and, when that was a GET refused with 405, sends the probe message
 * instead: the troubleshooting checklist then runs on the probe's reply.
 *
 * @param method - the method of the request as asked (a POST is never repeated)
 * @param send - sends the request as asked (`probe` undefined) or as a POST of `probe`
 * @param readHead - reads the status and `Allow` header of a reply
 * @returns the reply the checks should run on, and the fallback when one happened
 * @example
 * const { result, fallback } = await sendWithProbeFallback('GET', (probe) => record(probe), (r) => r.head);
 */
export async function sendWithProbeFallback<Reply>(
  method: 'GET' | 'POST',
  send: (probe: string | undefined) => Promise<Reply>,
  readHead: (reply: Reply) => ReplyHead,
): Promise<{ readonly result: Reply; readonly fallback: ProbeFallback | undefined }> {
  const result = await send(undefined);
  const head = readHead(result);
  if (method !== 'GET' || head.status !== 405) return { result, fallback: undefined };
  const fallback: ProbeFallback = { status: head.status, allow: head.allow, message: PROBE_MESSAGE };
  return { result: await send(fallback.message), fallback };
}

/**
 * The JSON body of the probe.
 *
 * @param message - the probe message (default {@link PROBE_MESSAGE})
 * @returns `{"message": ...}` as text
 */
export function probeBody(message: string = PROBE_MESSAGE): string {
  return JSON.stringify({ message });
}

/**
 * The sentence that opens the `reachable` evidence after a fallback.
 *
 * @param url - the diagnosed URL
 * @param fallback - the refused GET
 * @returns e.g. `GET http://h/api/stream/message answered 405 (Allow: POST), so this diagnosis POSTed ...`
 */
export function describeProbeFallback(url: string, fallback: ProbeFallback): string {
  const allow = fallback.allow === undefined ? '' : ` (Allow: ${fallback.allow})`;
  return `GET ${url} answered ${fallback.status}${allow}, so this diagnosis POSTed the probe message ${probeBody(fallback.message)} and checked that reply:`;
}
