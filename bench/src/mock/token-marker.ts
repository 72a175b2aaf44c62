/**
 * The marker each mocked token carries: `~<seq>:<sendNs>~`, the token's sequence number in its
 * reply and the CLOCK_MONOTONIC nanosecond at which the mock wrote it. It is plain ASCII with no
 * character JSON escapes, so it survives every gateway's re-encoding (the AI SDK rewrites frames
 * into UI-message chunks and drops ids; streamwell wraps it in `{"token": ...}`), and the load
 * generator reads per-token delay exactly: receive time minus the embedded send time.
 *
 * @module
 */

/** The content text of token `seq`, sent at `sendNs`, with `pad` bytes of filler. */
export function markToken(seq: number, sendNs: number, pad: string): string {
  return ` ~${seq}:${sendNs}~${pad}`;
}

const MARKER = /~(\d+):(\d+)~/g;

/**
 * Calls `onToken` for every marker in `text`, in order.
 *
 * @param text - an event's data
 * @param onToken - receives the sequence number and the send time
 * @returns how many markers were found
 */
export function scanMarkers(text: string, onToken: (seq: number, sendNs: number) => void): number {
  let found = 0;
  MARKER.lastIndex = 0;
  for (let match = MARKER.exec(text); match !== null; match = MARKER.exec(text)) {
    found += 1;
    onToken(Number(match[1]), Number(match[2]));
  }
  return found;
}
