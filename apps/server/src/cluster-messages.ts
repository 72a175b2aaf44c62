/**
 * What the primary and its workers say to each other over the cluster's IPC channel (WORKERS > 1).
 * prom-client's own metric messages share the channel; these are told apart by their `type`.
 *
 * @module
 */

/** A worker listens (sent once, after `listen`). */
export interface ListeningMessage {
  readonly type: 'streamwell:listening';
  /** As Fastify reports it, e.g. `http://127.0.0.1:8000`. */
  readonly address: string;
}

/** A worker asks for every worker's metrics, aggregated (a scrape of `/metrics`). */
export interface MetricsRequest {
  readonly type: 'streamwell:metrics-request';
  readonly requestId: number;
}

/** The primary's answer to a {@link MetricsRequest}: the exposition text, or why there is none. */
export interface MetricsResponse {
  readonly type: 'streamwell:metrics-response';
  readonly requestId: number;
  readonly text?: string;
  readonly error?: string;
}

/** The primary tells a worker to drain (it got SIGTERM or SIGINT). */
export interface ShutdownMessage {
  readonly type: 'streamwell:shutdown';
}

/** Any message of this protocol. */
export type ClusterMessage = ListeningMessage | MetricsRequest | MetricsResponse | ShutdownMessage;

/** Whether `value` is a message of type `type`. */
export function isMessage<T extends ClusterMessage['type']>(
  value: unknown,
  type: T,
): value is Extract<ClusterMessage, { type: T }> {
  return typeof value === 'object' && value !== null && (value as { type?: unknown }).type === type;
}
