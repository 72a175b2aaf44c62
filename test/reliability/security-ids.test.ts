/**
 * Security matrix, part 4: ids are unguessable. Stream and server-made thread ids
 * (`createStreamId`: 144 bits, base64url), message and ChatKit ids (`createItemId`: a v4 UUID's
 * 122 random bits, hex, behind a prefix) come from a CSPRNG; here, for each generator: the
 * length and alphabet, at least 122 random bits, no collision and no sequence among 10,000
 * (1,000,000 under `npm run soak`), every character position uniformly spread (chi-square) and
 * the bits balanced; and the ids a running server hands out have exactly these shapes.
 *
 * Bounds are far in the tails (a sound generator fails them with a probability below 1e-9);
 * a counter, a timestamp, `Math.random` truncated to a few bits or a constant byte fails them.
 */
import { describe, expect, it } from 'vitest';
import { createStreamId } from '../../packages/streamwell/src/server/run-registry.ts';
import { createItemId } from '../../packages/streamwell/src/server/threads/create-item-id.ts';
import { streamChatKit, userInput } from '../chatkit/helpers/chatkit-client.ts';
import { createScriptedProvider } from '../server/helpers/scripted-provider.ts';
import { readSse } from '../server/helpers/sse-client.ts';
import { startTestServer } from '../server/helpers/test-server.ts';
import { scale } from './helpers/soak-mode.ts';

const COUNT = scale(10_000, 1_000_000);
const TIMEOUT = scale(60_000, 600_000);
const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const HEX = '0123456789abcdef';

const STREAM_ID = /^[A-Za-z0-9_-]{24}$/;
/** A v4 UUID without dashes: version nibble 4, variant 8–b. */
const ITEM_ID = (prefix: string) => new RegExp(`^${prefix}_[0-9a-f]{12}4[0-9a-f]{3}[89ab][0-9a-f]{15}$`);

/**
 * Checks a batch of ids of one generator.
 *
 * @param ids - the ids (their random part only)
 * @param alphabet - the characters each position is drawn from, uniformly
 * @param fixed - positions that are not uniformly random (UUID version and variant)
 * @param partialBits - random bits in the `fixed` positions (the variant digit holds two)
 */
function expectRandom(
  ids: readonly string[],
  alphabet: string,
  fixed: ReadonlySet<number> = new Set(),
  partialBits = 0,
): void {
  expect(new Set(ids).size, 'collisions').toBe(ids.length);
  const length = ids[0]?.length ?? 0;
  const bitsPerChar = Math.log2(alphabet.length);
  expect((length - fixed.size) * bitsPerChar + partialBits, 'random bits').toBeGreaterThanOrEqual(122);
  // No sequence: no two consecutive ids share both their first and last 6 characters (a counter
  // or a clock in either end does; random hex ids do with probability 16^-12 per pair).
  for (let index = 1; index < ids.length; index += 1) {
    const previous = ids[index - 1] as string;
    const current = ids[index] as string;
    expect(previous.slice(0, 6) === current.slice(0, 6) && previous.slice(-6) === current.slice(-6), current).toBe(
      false,
    );
  }
  // Each random position uniform: chi-square with (alphabet - 1) degrees of freedom, bound at
  // mean + 12 standard deviations.
  const degrees = alphabet.length - 1;
  const bound = degrees + 12 * Math.sqrt(2 * degrees);
  for (let position = 0; position < length; position += 1) {
    if (fixed.has(position)) continue;
    const counts = new Map<string, number>();
    for (const id of ids) counts.set(id[position] as string, (counts.get(id[position] as string) ?? 0) + 1);
    const expected = ids.length / alphabet.length;
    let chi = 0;
    for (const symbol of alphabet) chi += ((counts.get(symbol) ?? 0) - expected) ** 2 / expected;
    expect(chi, `position ${position}`).toBeLessThan(bound);
  }
  // Bits balanced over the whole batch: within 10 standard deviations of half.
  let ones = 0;
  let bits = 0;
  for (const id of ids) {
    for (let position = 0; position < length; position += 1) {
      if (fixed.has(position)) continue;
      let value = alphabet.indexOf(id[position] as string);
      for (let bit = 0; bit < bitsPerChar; bit += 1) {
        ones += value & 1;
        value >>= 1;
        bits += 1;
      }
    }
  }
  expect(Math.abs(ones - bits / 2), 'bit balance').toBeLessThan(10 * Math.sqrt(bits / 4));
}

describe('ids are unguessable', () => {
  it(
    `stream and thread ids: 24 base64url characters, 144 random bits, no collision or sequence in ${COUNT}`,
    () => {
      const ids = Array.from({ length: COUNT }, () => createStreamId());
      for (const id of ids) expect(STREAM_ID.test(id), id).toBe(true);
      expectRandom(ids, BASE64URL);
    },
    TIMEOUT,
  );

  it(
    `message and ChatKit ids: prefix and 32 hex digits of a v4 UUID (122 random bits), in ${COUNT}`,
    () => {
      for (const prefix of ['msg', 'thr', 'atc']) {
        const ids = Array.from({ length: prefix === 'msg' ? COUNT : Math.min(COUNT, 10_000) }, () =>
          createItemId(prefix),
        );
        for (const id of ids) expect(ITEM_ID(prefix).test(id), id).toBe(true);
        // Position 12 (version) is fixed; 16 (variant) holds two random bits and two fixed ones.
        expectRandom(
          ids.map((id) => id.slice(prefix.length + 1)),
          HEX,
          new Set([12, 16]),
          2,
        );
      }
    },
    TIMEOUT,
  );

  it(
    'a running server hands out ids of exactly these shapes (streams, threads, messages, ChatKit)',
    async () => {
      const server = await startTestServer({ provider: createScriptedProvider({ autoReply: ['ok'] }).provider });
      try {
        const streamIds: string[] = [];
        for (let index = 0; index < 50; index += 1) {
          const response = await fetch(`${server.url}/api/stream/message`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ message: `hi ${index}` }),
          });
          const read = await readSse(response);
          const start = read.events[0]?.data as { streamId: string; threadId: string };
          expect(response.headers.get('x-stream-id')).toBe(start.streamId);
          streamIds.push(start.streamId, start.threadId);
          const thread = (await (await fetch(`${server.url}/api/threads/${start.threadId}`)).json()) as {
            messages: Array<{ id: string }>;
          };
          for (const message of thread.messages) expect(message.id).toMatch(ITEM_ID('msg'));
        }
        for (const id of streamIds) expect(id).toMatch(STREAM_ID);
        expect(new Set(streamIds).size).toBe(streamIds.length);
        for (let index = 0; index < 5; index += 1) {
          const kit = await streamChatKit(`${server.url}/chatkit`, {
            type: 'threads.create',
            params: { input: userInput(`hello ${index}`) },
          });
          const created = kit.events.find((event) => event.type === 'thread.created');
          expect(created?.thread.id).toMatch(ITEM_ID('thr'));
          const items = kit.events
            .filter((event) => event.type === 'thread.item.done')
            .map((event) => event.item.id as string);
          expect(items.length).toBeGreaterThan(0);
          for (const id of items) expect(id).toMatch(ITEM_ID('msg'));
        }
      } finally {
        await server.close();
      }
    },
    TIMEOUT,
  );
});
