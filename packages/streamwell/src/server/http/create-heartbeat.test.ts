import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHeartbeat, type HeartbeatMember } from './create-heartbeat.ts';

afterEach(() => {
  vi.useRealTimers();
});

function member(): HeartbeatMember & { pings: number } {
  return {
    lastWriteTick: 0,
    pings: 0,
    ping() {
      this.pings += 1;
    },
  };
}

describe('createHeartbeat', () => {
  it('pings a quiet member once per interval and skips one that wrote', () => {
    vi.useFakeTimers();
    const heartbeat = createHeartbeat<ReturnType<typeof member>>(1000);
    const quiet = member();
    const busy = member();
    heartbeat.add(quiet);
    heartbeat.add(busy);
    for (let step = 0; step < 12; step += 1) {
      vi.advanceTimersByTime(250);
      busy.lastWriteTick = heartbeat.tick;
    }
    expect(quiet.pings).toBe(3);
    expect(busy.pings).toBe(0);
  });

  it('never lets a member go a full interval without a write, and stops when empty', () => {
    vi.useFakeTimers();
    const heartbeat = createHeartbeat<ReturnType<typeof member>>(1000);
    const one = member();
    heartbeat.add(one);
    vi.advanceTimersByTime(999);
    expect(one.pings).toBe(0);
    vi.advanceTimersByTime(1);
    expect(one.pings).toBe(1);
    heartbeat.remove(one);
    expect(vi.getTimerCount()).toBe(0);
  });
});
