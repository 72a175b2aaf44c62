/**
 * Stall detection: fires when nothing arrives for a given time. Heartbeat comments count as
 * activity, so a stall means the connection is dead or something between client and server
 * holds the bytes back (a buffering proxy), not that the model is slow.
 *
 * @module
 */

/**
 * A running stall watch.
 *
 * @internal
 */
export interface StallWatch {
  /** Something arrived: the stall deadline starts over. Cheap enough for every chunk. */
  touch(): void;
  /** Stops watching (clears the timer). Idempotent. */
  stop(): void;
}

/**
 * Starts a stall watch. One timer, re-armed only when it fires: `touch` just records the time,
 * so the per-chunk hot path does no timer work.
 *
 * @param timeoutMs - silence that counts as a stall; 0 or Infinity disables the watch
 * @param onStall - called once, after `timeoutMs` without a touch
 * @param now - clock in ms @defaultValue Date.now
 * @returns the watch
 *
 * @internal
 */
export function startStallWatch(timeoutMs: number, onStall: () => void, now: () => number = Date.now): StallWatch {
  if (!(timeoutMs > 0) || !Number.isFinite(timeoutMs)) return { touch() {}, stop() {} };
  let lastActivity = now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (delay: number): void => {
    timer = setTimeout(check, delay);
  };
  const check = (): void => {
    timer = undefined;
    const silent = now() - lastActivity;
    if (silent >= timeoutMs) onStall();
    else arm(timeoutMs - silent);
  };
  arm(timeoutMs);
  return {
    touch() {
      lastActivity = now();
    },
    stop() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
