/**
 * The latency panel renders the hook's metrics snapshot as it is: first token, rate, slow
 * tokens, reconnects and the gap percentiles, with warnings only when something was slow.
 */
import { cleanup, render, screen } from '@testing-library/react';
import { type ClientMetricsSnapshot, createClientMetrics, EMPTY_CLIENT_METRICS } from 'streamwell/client';
import { afterEach, describe, expect, it } from 'vitest';
import { LatencyPanel } from './latency-panel.tsx';

afterEach(cleanup);

/** A real metrics recorder driven by a fake clock: three tokens, one of them slow, one reconnect. */
function recorded(): ClientMetricsSnapshot {
  let time = 0;
  const metrics = createClientMetrics({ now: () => time, slowTokenMs: 1000 });
  metrics.markRequest();
  time = 40;
  metrics.markBytes();
  time = 250;
  metrics.markToken();
  time = 300;
  metrics.markToken();
  metrics.markReconnect();
  time = 12_300;
  metrics.markToken();
  metrics.markEnd();
  return metrics.snapshot();
}

function stat(label: string): HTMLElement {
  const term = screen.getByText(label, { selector: 'dt' });
  return term.parentElement as HTMLElement;
}

describe('LatencyPanel', () => {
  it('shows dashes and no warning before a stream', () => {
    render(<LatencyPanel metrics={EMPTY_CLIENT_METRICS} />);
    expect(stat('First token').textContent).toContain('—');
    expect(stat('Tokens/s').textContent).toBe('Tokens/s—0 tokens');
    expect(stat('Slow tokens').className).toBe('stat');
    expect(stat('Reconnects').className).toBe('stat');
  });

  it('renders a recorded stream: times, rate, percentiles, and warns on slow tokens and reconnects', () => {
    render(<LatencyPanel metrics={recorded()} />);
    expect(stat('First token').textContent).toBe('First token250 msfirst byte 40 ms');
    // 2 gaps over 12.05 s.
    expect(stat('Tokens/s').textContent).toBe('Tokens/s0.23 tokens');
    expect(stat('Slow tokens').textContent).toContain('1');
    expect(stat('Slow tokens').className).toBe('stat stat-warn');
    expect(stat('Reconnects').className).toBe('stat stat-warn');
    expect(screen.getByText(/p50/).textContent).toBe('p50 50 ms · p95 12.0 s · max 12.0 s');
    // The sparkline plots the recent gaps (the snapshot's recentGapsMs).
    expect(screen.getByLabelText('Inter-token gaps of the last 2 tokens')).toBeTruthy();
  });
});
