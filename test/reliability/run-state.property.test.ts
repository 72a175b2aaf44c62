/**
 * Property tests of a run's state machine (`Run`, driven by a scripted provider) and of the resume
 * cursor rules shared by HTTP and WebSocket:
 * - random interleavings of provider output (tokens, empty tokens, agent events, a finish reason,
 *   the end, a failure), cancels, failures with every code, readers attaching at every kind of
 *   cursor and detaching, and eviction: the run ends exactly once, with the status, outcome and
 *   terminal event of whichever end came first; nothing changes after it; the provider's signal
 *   is aborted unless the run completed; `finished` reports the same; every reader gets a
 *   gap-free, duplicate-free suffix after its cursor, the attached ones up to the terminal event;
 *   tokens and checkpoints are counted as the model says;
 * - a cursor header or query value is accepted exactly when it is 1 to 15 ASCII digits (spaces
 *   around allowed), as the same number over HTTP and WebSocket; anything else is
 *   `invalid_cursor` (the "malformed" cursor kind).
 */
import fc from 'fast-check';
import type { RunEvent, RunStatus, RunSubscriber } from 'streamwell/server';
import { describe, expect, it } from 'vitest';
import { isStreamwellError } from '../../packages/streamwell/src/errors/index.ts';
import type { StreamErrorCode } from '../../packages/streamwell/src/protocol/index.ts';
import { parseCursor } from '../../packages/streamwell/src/server/http/parse-start-request.ts';
import { createRun } from '../../packages/streamwell/src/server/run.ts';
import { parseClientMessage } from '../../packages/streamwell/src/server/ws/parse-client-message.ts';
import { createScriptedProvider } from '../server/helpers/scripted-provider.ts';
import { propertyRuns } from './helpers/property-runs.ts';
import {
  type CursorKind,
  copy,
  cursorFor,
  expectedAfter,
  expectWellFormedSuffix,
  isTerminal,
  type Received,
} from './helpers/run-log-model.ts';
import { scale } from './helpers/soak-mode.ts';

type Step =
  | { readonly kind: 'token'; readonly text: string }
  | { readonly kind: 'handoff' }
  | { readonly kind: 'finish'; readonly reason: 'stop' | 'length' }
  | { readonly kind: 'end' }
  | { readonly kind: 'provider-fail' }
  | { readonly kind: 'cancel' }
  | { readonly kind: 'fail'; readonly code: StreamErrorCode }
  | { readonly kind: 'attach'; readonly cursor: CursorKind; readonly pick: number }
  | { readonly kind: 'detach'; readonly pick: number }
  | { readonly kind: 'evict' };

const steps = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.string({ maxLength: 4 }).map((text) => ({ kind: 'token' as const, text })) },
    { weight: 1, arbitrary: fc.constant({ kind: 'handoff' as const }) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom('stop' as const, 'length' as const)
        .map((reason) => ({ kind: 'finish' as const, reason })),
    },
    { weight: 1, arbitrary: fc.constant({ kind: 'end' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'provider-fail' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'cancel' as const }) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<StreamErrorCode>(
          'stream_timeout',
          'idle_timeout',
          'abandoned',
          'server_shutdown',
          'producer_lost',
        )
        .map((code) => ({ kind: 'fail' as const, code })),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant('attach' as const),
        cursor: fc.constantFrom<CursorKind>('none', 'start', 'middle', 'last', 'beyond'),
        pick: fc.nat(),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('detach' as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'evict' as const }) },
  ),
  { maxLength: 40 },
);

/** Lets the run's pump apply what the provider was given (it reads on later turns). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** The status a `fail(code)` ends a run with. */
const statusOfFailure = (code: StreamErrorCode): RunStatus =>
  code.endsWith('_timeout') ? 'timeout' : code === 'abandoned' ? 'cancelled' : 'error';

const CHECKPOINT_EVERY = 3;

async function runSteps(list: readonly Step[]): Promise<void> {
  const scripted = createScriptedProvider();
  const run = createRun({
    id: 'run-1',
    threadId: 'thread-1',
    owner: undefined,
    provider: scripted.provider,
    messages: [{ role: 'user', content: 'hi' }],
    limits: {
      firstTokenTimeoutMs: 0,
      idleTimeoutMs: 0,
      streamTimeoutMs: 0,
      checkpointEvery: CHECKPOINT_EVERY,
      maxRunBytes: 1 << 20,
    },
  });
  const call = await scripted.call(0);
  // The model: what has ended the run (first end wins), tokens, events in order.
  let ended: { status: RunStatus; outcome: string; event: 'done' | 'error' } | undefined;
  let evicted = false;
  let tokens = 0;
  let finishReason = 'stop';
  const names: string[] = ['start'];
  const readers: Array<{ received: Received; detach: () => void }> = [];
  const end = (status: RunStatus, outcome: string, event: 'done' | 'error'): void => {
    if (ended !== undefined) return;
    ended = { status, outcome, event };
    names.push(event);
  };

  for (const step of list) {
    switch (step.kind) {
      case 'token':
        call.tokens(step.text);
        await settle();
        if (ended === undefined && step.text.length > 0) {
          tokens += 1;
          names.push('token');
          if (tokens % CHECKPOINT_EVERY === 0) names.push('checkpoint');
        }
        break;
      case 'handoff':
        call.push({ type: 'handoff', from: 'a', to: 'b' });
        await settle();
        if (ended === undefined) names.push('handoff');
        break;
      case 'finish':
        call.push({ type: 'finish', finishReason: step.reason });
        await settle();
        if (ended === undefined) finishReason = step.reason;
        break;
      case 'end':
        call.end();
        await settle();
        end('complete', finishReason, 'done');
        break;
      case 'provider-fail':
        call.fail();
        await settle();
        end('error', 'upstream_error', 'error');
        break;
      case 'cancel':
        expect(run.cancel()).toBe(ended?.status ?? 'cancelled');
        end('cancelled', 'cancelled', 'done');
        break;
      case 'fail':
        run.fail(step.code, 'stopped');
        end(statusOfFailure(step.code), step.code, 'error');
        break;
      case 'attach': {
        const after = cursorFor(step.cursor, run.lastEventId, step.pick);
        const received: Received = { after, events: [], evicted: 0, late: [], detached: false };
        const take = (event: RunEvent): void => {
          if (received.evicted > 0 || received.events.some(isTerminal)) received.late.push(`${event.id}`);
          received.events.push(copy(event));
        };
        const subscriber: RunSubscriber = {
          onEvent: take,
          onEvents: (batch) => batch.events.forEach(take),
          onEvicted: () => {
            received.evicted += 1;
          },
        };
        const attachment = run.attach(after, subscriber);
        received.events.unshift(...attachment.backlog.map(copy));
        expect(attachment.live).toBe(ended === undefined && !evicted);
        readers.push({ received, detach: attachment.detach });
        break;
      }
      case 'detach': {
        const reader = readers[step.pick % Math.max(1, readers.length)];
        if (reader === undefined) break;
        reader.detach();
        if (!evicted) reader.received.detached = true;
        break;
      }
      case 'evict':
        // The registry evicts finished runs only (retention); a running one is never evicted.
        if (ended === undefined) break;
        run.evict();
        evicted = true;
        break;
    }
    // The state machine: running until the first end, then fixed.
    expect(run.status).toBe(ended?.status ?? 'running');
    expect(run.outcome).toBe(ended?.outcome ?? '');
    expect(run.tokens).toBe(tokens);
  }
  if (ended === undefined) {
    call.end();
    await settle();
    end('complete', finishReason, 'done');
  }
  const final = ended as { status: RunStatus; outcome: string; event: 'done' | 'error' };
  const summary = await run.finished;
  expect(summary).toMatchObject({ status: final.status, outcome: final.outcome, tokens });
  expect(run.signal.aborted).toBe(final.status !== 'complete');
  expect(call.aborted).toBe(final.status !== 'complete');
  if (evicted) {
    expect(run.eventsAfter(undefined)).toEqual([]);
  } else {
    const log = run.eventsAfter(undefined).map(copy);
    expect(log.map((event) => event.event)).toEqual(names);
    expect(log.map((event) => event.id)).toEqual(log.map((_, index) => index + 1));
    const terminal = log.at(-1) as RunEvent;
    expect(terminal.event).toBe(final.event);
    const data = JSON.parse(terminal.json) as { finishReason?: string; code?: string };
    expect(final.event === 'done' ? data.finishReason : data.code).toBe(final.outcome);
    for (const { received } of readers) {
      expectWellFormedSuffix(received, log);
      if (!received.detached) expect(received.events).toEqual(expectedAfter(log, received.after));
    }
  }
  // Nothing after the end: more provider output and more ends change nothing.
  call.tokens('late');
  run.cancel();
  run.fail('server_shutdown', 'late');
  await settle();
  expect(run.status).toBe(final.status);
  expect(run.tokens).toBe(tokens);
}

describe('run state machine properties', () => {
  it(
    'random interleavings of provider output, cancel, fail, attach, detach and evict end the run exactly once',
    async () => {
      await fc.assert(
        fc.asyncProperty(steps, (list) => runSteps(list)),
        propertyRuns(300, 30_000),
      );
    },
    scale(60_000, 1_800_000),
  );
});

describe('resume cursor properties (the "malformed" cursor kind)', () => {
  const cursorText = fc.oneof(
    fc.stringMatching(/^\s{0,2}\d{1,17}\s{0,2}$/),
    fc.string({ maxLength: 20 }),
    fc.constantFrom('-1', '+1', '1e3', '0x1', '1.0', '١', '７', 'NaN', ' ', '\t7\t', '00', '0'),
  );

  it(
    'a cursor is accepted exactly when it is 1 to 15 ASCII digits, as the same number on both transports',
    () => {
      fc.assert(
        fc.property(cursorText, fc.boolean(), (text, asHeader) => {
          const trimmed = text.trim();
          const valid = /^[0-9]{1,15}$/.test(trimmed);
          let http: number | undefined | Error;
          try {
            http = asHeader ? parseCursor(text, null) : parseCursor(undefined, text);
          } catch (error) {
            http = error as Error;
          }
          let ws: number | undefined | Error;
          try {
            const message = parseClientMessage(JSON.stringify({ type: 'resume', streamId: 's', after: text }), {
              maxMessageChars: 100,
            });
            ws = message.type === 'resume' ? message.after : undefined;
          } catch (error) {
            ws = error as Error;
          }
          if (trimmed === '') {
            // Empty means "no cursor" (EventSource sends none before its first id).
            expect(http).toBeUndefined();
            expect(ws).toBeUndefined();
          } else if (valid) {
            expect(http).toBe(Number(trimmed));
            expect(ws).toBe(Number(trimmed));
          } else {
            for (const failure of [http, ws]) {
              expect(isStreamwellError(failure) && failure.code === 'invalid_cursor' && failure.status === 400).toBe(
                true,
              );
            }
          }
        }),
        propertyRuns(2000, 100_000),
      );
    },
    scale(60_000, 1_800_000),
  );
});
