import { describe, expect, it } from 'vitest';
import { createRestartBudget } from './create-restart-budget.ts';

describe('createRestartBudget', () => {
  it('allows `limit` restarts in any window, and more once the oldest leaves it', () => {
    const budget = createRestartBudget(3, 60_000);
    expect([0, 1000, 2000].map((now) => budget.take(now))).toEqual([true, true, true]);
    expect(budget.take(59_999)).toBe(false);
    // The restart at 0 is out of the window at 60 000; the refused one took nothing.
    expect(budget.take(60_000)).toBe(true);
    expect(budget.take(60_500)).toBe(false);
    expect(budget.take(61_000)).toBe(true);
  });

  it('refuses every restart with a limit of 0', () => {
    expect(createRestartBudget(0, 1000).take(0)).toBe(false);
  });
});
