/**
 * Prometheus metrics of the reference server (`GET /metrics`): active streams, time to first
 * token, inter-token gaps, tokens, run outcomes, upstream retries, stream responses and refusals, plus prom-client's
 * default process metrics. Fed by the run registry's observer hooks.
 *
 * @module
 */
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ConnectionKind, RegistryObserver, Run, RunSummary, SseCloseReason } from 'streamwell/server';
import { createLeanHistogram } from './create-lean-histogram.ts';

/** The metrics and the hooks that feed them. */
export interface ServerMetrics {
  /** The prom-client registry (one per app, so several apps can live in one process). */
  readonly register: Registry;
  /** Run hooks: first token, token gaps, end. */
  readonly observer: Required<
    Pick<RegistryObserver, 'onFirstToken' | 'onTokenGap' | 'onEnd' | 'onAbandoned' | 'onUpstreamRetry'>
  >;
  /** An event-stream response ended. */
  streamClosed(reason: SseCloseReason): void;
  /** A request was refused with this code. */
  refused(code: string): void;
  /**
   * A connection was refused by a connection cap (`too_many_connections`,
   * `too_many_principal_connections`), or closed at accept by `MAX_TCP_CONNECTIONS` (kind `tcp`,
   * code `max_tcp_connections`).
   */
  connectionRefused(kind: ConnectionKind | 'tcp', code: string): void;
}

/** Where the gauges read current values. */
export interface MetricsSources {
  readonly activeRuns: () => number;
  readonly openStreams: () => number;
  readonly retainedBytes: () => number;
  /** Open stream connections of a kind, as the connection limiter counts them. */
  readonly openConnections: (kind: ConnectionKind) => number;
}

/** Sampling interval of the `nodejs_eventloop_lag_*` metrics. */
export const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * Creates the metrics.
 *
 * @param sources - live values for the gauges
 * @returns the metrics
 */
export function createServerMetrics(sources: MetricsSources): ServerMetrics {
  const register = new Registry();
  // prom-client samples event-loop delay with a libuv timer every `eventLoopMonitoringPrecision`
  // ms (10 by default): 100 wake-ups a second of an otherwise idle server, each ~45 µs of CPU on
  // a small VM (strace of an idle server; docs/benchmarks.md finding 9). 100 ms still catches
  // any stall long enough to hurt a stream, at a tenth of the cost.
  collectDefaultMetrics({ register, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  new Gauge({
    name: 'streamwell_active_streams',
    help: 'Runs that are generating now.',
    registers: [register],
    collect() {
      this.set(sources.activeRuns());
    },
  });
  new Gauge({
    name: 'streamwell_open_stream_responses',
    help: 'Open text/event-stream responses (connections following a run).',
    registers: [register],
    collect() {
      this.set(sources.openStreams());
    },
  });
  new Gauge({
    name: 'streamwell_open_connections',
    help: 'Open stream connections counted against MAX_OPEN_EVENT_STREAMS (kind="sse") and MAX_OPEN_WEBSOCKETS (kind="websocket").',
    labelNames: ['kind'],
    registers: [register],
    collect() {
      this.set({ kind: 'sse' }, sources.openConnections('sse'));
      this.set({ kind: 'websocket' }, sources.openConnections('websocket'));
    },
  });
  const connectionRefusals = new Counter({
    name: 'streamwell_connection_refusals_total',
    help: 'Event streams and WebSocket upgrades refused by a connection cap, and TCP connections closed at accept (kind="tcp"), by kind and code.',
    labelNames: ['kind', 'code'],
    registers: [register],
  });
  new Gauge({
    name: 'streamwell_retained_bytes',
    help: 'Bytes of events kept for replay across runs (estimate).',
    registers: [register],
    collect() {
      this.set(sources.retainedBytes());
    },
  });
  const timeToFirstToken = createLeanHistogram(
    register,
    'streamwell_time_to_first_token_seconds',
    'Time from run start to the first token.',
    [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
  );
  const interToken = createLeanHistogram(
    register,
    'streamwell_inter_token_seconds',
    'Gap between consecutive tokens of a run, as received from the model.',
    [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
  );
  const tokens = new Counter({
    name: 'streamwell_tokens_total',
    help: 'Tokens streamed (counted when each run ends).',
    registers: [register],
  });
  const outcomes = new Counter({
    name: 'streamwell_stream_outcomes_total',
    help: 'Finished runs by final status and outcome (finish reason or error code).',
    labelNames: ['status', 'code'],
    registers: [register],
  });
  const abandoned = new Counter({
    name: 'streamwell_streams_abandoned_total',
    help: 'Runs cancelled because no client was connected for DISCONNECT_GRACE_MS.',
    registers: [register],
  });
  const closed = new Counter({
    name: 'streamwell_stream_responses_closed_total',
    help: 'Ended event-stream responses by reason (end, client_closed, slow_consumer, evicted, shutdown).',
    labelNames: ['reason'],
    registers: [register],
  });
  const retries = new Counter({
    name: 'streamwell_upstream_retries_total',
    help: 'Upstream requests sent again after a failure before the first byte of the answer, by provider and reason (refused, reset, connect_timeout, request_timeout, rate_limited, bad_gateway, unavailable).',
    labelNames: ['provider', 'reason'],
    registers: [register],
  });
  const refusals = new Counter({
    name: 'streamwell_http_refusals_total',
    help: 'Requests refused, by error code.',
    labelNames: ['code'],
    registers: [register],
  });

  return {
    register,
    observer: {
      onFirstToken(_run: Run, milliseconds: number) {
        timeToFirstToken.observe(milliseconds / 1000);
      },
      onTokenGap(_run: Run, milliseconds: number) {
        interToken.observe(milliseconds / 1000);
      },
      onEnd(_run: Run, summary: RunSummary) {
        tokens.inc(summary.tokens);
        outcomes.inc({ status: summary.status, code: summary.outcome });
      },
      onAbandoned() {
        abandoned.inc();
      },
      onUpstreamRetry(run: Run, retry) {
        retries.inc({ provider: run.provider.name, reason: retry.reason });
      },
    },
    streamClosed(reason) {
      closed.inc({ reason });
    },
    refused(code) {
      refusals.inc({ code });
    },
    connectionRefused(kind, code) {
      connectionRefusals.inc({ kind, code });
    },
  };
}
