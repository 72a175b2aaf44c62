import { describe, expect, it } from 'vitest';
import { createOperationGate } from './create-operation-gate.ts';

function deferred() {
  let resolve: () => void = () => {};
  const promise = new Promise<void>((done) => {
    resolve = done;
  });
  return { promise, resolve };
}

describe('operation gate', () => {
  it('runs at most `concurrency` operations at once, the others in arrival order', async () => {
    const gate = createOperationGate(2, false);
    const running = new Set<number>();
    let most = 0;
    const order: number[] = [];
    const releases = Array.from({ length: 5 }, deferred);
    const all = releases.map((release, index) =>
      gate(async () => {
        running.add(index);
        most = Math.max(most, running.size);
        order.push(index);
        await release.promise;
        running.delete(index);
      }),
    );
    for (const release of [...releases].reverse()) release.resolve();
    await Promise.all(all);
    expect(most).toBe(2);
    expect(order).toEqual([0, 1, 2, 3, 4]);
  });

  it('passes results and errors through, and frees the slot after an error', async () => {
    const gate = createOperationGate(1, true);
    await expect(gate(async () => 'ok')).resolves.toBe('ok');
    await expect(gate(() => Promise.reject(new Error('no')))).rejects.toThrow('no');
    await expect(gate(async () => 2)).resolves.toBe(2);
  });

  it('with yieldBetween, lets the event loop turn between queued operations that finish at once', async () => {
    const run = async (yieldBetween: boolean): Promise<string[]> => {
      const gate = createOperationGate(1, yieldBetween);
      const events: string[] = [];
      // Operations with no I/O: without the yield they run back to back in microtasks, and
      // nothing else (timers, sockets) runs until the last one is done.
      const all = Array.from({ length: 3 }, (_, index) => gate(async () => void events.push(`op${index}`)));
      setImmediate(() => events.push('loop turn'));
      await Promise.all(all);
      await new Promise((resolve) => setImmediate(resolve));
      return events;
    };
    expect(await run(true)).toEqual(['op0', 'loop turn', 'op1', 'op2']);
    expect(await run(false)).toEqual(['op0', 'op1', 'op2', 'loop turn']);
  });
});
