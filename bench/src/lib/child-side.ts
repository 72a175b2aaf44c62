/**
 * The child side of the IPC protocol in `child.ts`: announce readiness, answer requests.
 *
 * @module
 */

type Handler = (message: Record<string, unknown>) => unknown;

// tsx turns source maps on for the whole process, and Node's streams read `error.stack` on
// every `destroy(error)` (a closed client connection, for instance), which then maps each frame
// through the source maps: a heap profile of the streamwell peer showed ~5 % of its allocations
// there during the resume scenario. No production server runs like that (`npm start` runs plain
// built JavaScript), so every child of the harness, peers and harness alike, turns them off.
process.setSourceMapsEnabled(false);

/** Tells the orchestrator that this child is ready, with what it needs to know (a port). */
export function announceReady(info: Record<string, unknown>): void {
  process.send?.({ type: 'ready', ...info });
}

/** Sends an unsolicited message (a progress mark). */
export function notify(message: Record<string, unknown>): void {
  process.send?.(message);
}

/**
 * Answers requests from the orchestrator with `handler` (sync or async). Exits when the
 * orchestrator goes away, so no child outlives a crashed run.
 */
export function serveRequests(handler: Handler): void {
  process.on('message', (raw) => {
    const message = raw as Record<string, unknown>;
    Promise.resolve()
      .then(() => handler(message))
      .then(
        (value) => process.send?.({ type: 'reply', id: message.id, value }),
        (error: unknown) =>
          process.send?.({
            type: 'reply',
            id: message.id,
            error: error instanceof Error ? error.stack : String(error),
          }),
      );
  });
  process.on('disconnect', () => process.exit(0));
}

/**
 * The request loop of a gateway under test: `gc` runs a full garbage collection (the gateway is
 * started with `--expose-gc`) so that RSS baselines are not inflated by warm-up garbage.
 */
export function servePeer(): void {
  // Exit normally on SIGTERM so that `--cpu-prof` writes its profile.
  process.on('SIGTERM', () => process.exit(0));
  serveRequests((message) => {
    if (message.type === 'gc') {
      (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage().rss;
    }
    return null;
  });
}
