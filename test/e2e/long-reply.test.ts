/**
 * A 20k-token markdown reply in Chromium: it must render completely and the markdown work must
 * stay linear (finished blocks parsed once). Frame and long-task numbers are printed for the docs,
 * never asserted (timings belong to the benchmark).
 */
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPart } from '../helpers/system-part.ts';
import { sendWithKeyboard, waitForReplyEnd } from './support/chat-page.ts';
import { ensureWebBuild } from './support/ensure-web-build.ts';
import { launchBrowser } from './support/launch-browser.ts';
import { longMarkdownReply, toTokens } from './support/markdown-reply.ts';
import { startStack } from './support/start-stack.ts';

const chromium = chromiumPart();

const TARGET_TOKENS = 20_000;

interface RenderMeasurements {
  readonly frames: number;
  readonly maxFrameGapMs: number;
  readonly slowFrames: number;
  readonly longTasks: number;
  readonly longTaskTotalMs: number;
  readonly parsedChars: number;
  readonly parseCalls: number;
}

describe.skipIf(!chromium.available)('a 20k-token reply', () => {
  let browser: Browser;

  beforeAll(async () => {
    ensureWebBuild();
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('renders completely, with markdown parse work linear in the reply length', async () => {
    let sections = 1;
    while (toTokens(longMarkdownReply(sections)).length < TARGET_TOKENS) sections += 10;
    const text = longMarkdownReply(sections);
    const tokens = toTokens(text);
    const stack = await startStack();
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    try {
      stack.fake.setReply({ tokens, tokenDelayMs: 0 });
      const page = await context.newPage();
      await page.addInitScript(() => {
        const stats = { frames: 0, maxFrameGapMs: 0, slowFrames: 0, longTasks: 0, longTaskTotalMs: 0, last: 0 };
        (window as unknown as { __render: typeof stats }).__render = stats;
        const frame = (now: number): void => {
          if (stats.last > 0) {
            const gap = now - stats.last;
            stats.maxFrameGapMs = Math.max(stats.maxFrameGapMs, gap);
            if (gap > 50) stats.slowFrames += 1;
          }
          stats.last = now;
          stats.frames += 1;
          requestAnimationFrame(frame);
        };
        requestAnimationFrame(frame);
        new PerformanceObserver((list) => {
          for (const entry of list.getEntries()) {
            stats.longTasks += 1;
            stats.longTaskTotalMs += entry.duration;
          }
        }).observe({ type: 'longtask', buffered: true });
      });
      await page.goto(stack.url);
      const started = Date.now();
      await sendWithKeyboard(page, 'write a very long answer');
      expect(await waitForReplyEnd(page, 120_000)).toBe('done');
      const elapsedMs = Date.now() - started;

      const reply = page.locator('article[data-role="assistant"]').last();
      expect(await reply.locator('h2').count()).toBe(sections);
      expect(await reply.locator('pre code').count()).toBe(sections);
      expect(await reply.locator('h2').last().textContent()).toBe(`Section ${sections}`);

      const measured = await page.evaluate(() => {
        const render = (window as unknown as { __render: Record<string, number> }).__render;
        const markdown = (window as unknown as { __streamwellMarkdown: Record<string, number> }).__streamwellMarkdown;
        return {
          ...render,
          parsedChars: markdown.parsedChars,
          parseCalls: markdown.parseCalls,
        } as unknown as RenderMeasurements;
      });
      // Each finished block is parsed once, the open tail once per frame: a small multiple of the
      // length. Re-parsing the whole reply per frame would be tens of times the length here.
      expect(measured.parsedChars / text.length).toBeLessThan(5);
      console.info(
        `[long reply] ${tokens.length} tokens, ${text.length} chars in ${elapsedMs} ms; ` +
          `parsed ${measured.parsedChars} chars in ${measured.parseCalls} calls ` +
          `(${(measured.parsedChars / text.length).toFixed(2)}x the text); ${measured.frames} frames, ` +
          `max frame gap ${measured.maxFrameGapMs.toFixed(0)} ms, ${measured.slowFrames} frames > 50 ms, ` +
          `${measured.longTasks} long tasks totalling ${measured.longTaskTotalMs.toFixed(0)} ms`,
      );
    } finally {
      await context.close();
      await stack.close();
    }
  });
});
