/**
 * The page at desktop and phone sizes, mid-stream and finished. Checks that a 375 px screen needs
 * no horizontal scrolling and keeps the message box and buttons in view, and saves screenshots:
 * to `docs/screenshots/` when `STREAMWELL_SCREENSHOTS=1` (to refresh the docs), else to a temp dir.
 */
import { mkdirSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPart } from '../helpers/system-part.ts';
import {
  lastReply,
  lastReplyText,
  messageBox,
  normalize,
  sendWithKeyboard,
  waitForLiveText,
  waitForReplyEnd,
} from './support/chat-page.ts';
import { ensureWebBuild } from './support/ensure-web-build.ts';
import { launchBrowser } from './support/launch-browser.ts';
import { SHOWCASE_REPLY, toTokens } from './support/markdown-reply.ts';
import { type Stack, startStack } from './support/start-stack.ts';

const chromium = chromiumPart();

const outDir =
  process.env.STREAMWELL_SCREENSHOTS === '1'
    ? fileURLToPath(new URL('../../docs/screenshots/', import.meta.url))
    : mkdtempSync(join(tmpdir(), 'streamwell-screens-'));

/** Screenshots in docs/ stay small. */
const MAX_BYTES = 300 * 1024;

const SIZES = [
  { name: 'desktop', viewport: { width: 1280, height: 800 } },
  { name: 'phone', viewport: { width: 375, height: 780 } },
] as const;

describe.skipIf(!chromium.available)('page layout and screenshots', () => {
  let browser: Browser;
  let stack: Stack | undefined;

  beforeAll(async () => {
    mkdirSync(outDir, { recursive: true });
    ensureWebBuild();
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
  });

  afterEach(async () => {
    await stack?.close();
    stack = undefined;
  });

  async function shoot(page: Page, name: string): Promise<void> {
    const path = join(outDir, `${name}.png`);
    await page.screenshot({ path, animations: 'disabled', caret: 'hide' });
    expect(statSync(path).size).toBeLessThan(MAX_BYTES);
  }

  async function expectFitsWidth(page: Page, width: number): Promise<void> {
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(scrollWidth).toBeLessThanOrEqual(width);
    for (const control of [
      messageBox(page),
      page.getByRole('button', { name: 'Send' }),
      page.getByRole('button', { name: 'Stop' }),
    ]) {
      const box = await control.boundingBox();
      expect(box).not.toBeNull();
      expect((box?.x ?? -1) >= 0 && (box?.x ?? 0) + (box?.width ?? 0) <= width).toBe(true);
    }
  }

  for (const size of SIZES) {
    it(`${size.name}: mid-stream and finished, with the latency panel`, async () => {
      stack = await startStack({ provider: 'demo', demoReply: SHOWCASE_REPLY, demoTokenIntervalMs: 45 });
      const context = await browser.newContext({ viewport: size.viewport, deviceScaleFactor: 1 });
      try {
        const page = await context.newPage();
        await page.goto(stack.url);
        // A first exchange, so the thread has history and the panel has numbers.
        await sendWithKeyboard(page, 'How do I keep a streamed reply alive behind a proxy?');
        await waitForLiveText(page, SHOWCASE_REPLY.length * 0.55);
        await expectFitsWidth(page, size.viewport.width);
        await shoot(page, `${size.name}-streaming`);
        expect(await waitForReplyEnd(page)).toBe('done');
        await page.locator('.messages').evaluate((element) => {
          element.scrollTop = element.scrollHeight;
        });
        await expectFitsWidth(page, size.viewport.width);
        await shoot(page, `${size.name}-done`);
        expect(toTokens(SHOWCASE_REPLY).length).toBeGreaterThan(50);
      } finally {
        await context.close();
      }
    });
  }

  it('desktop: the reconnecting state after a real connection cut', async () => {
    stack = await startStack();
    stack.fake.setReply({ tokens: toTokens(SHOWCASE_REPLY), tokenDelayMs: 30 });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    try {
      const page = await context.newPage();
      let release: () => void = () => {};
      const held = new Promise<void>((resolve) => {
        release = resolve;
      });
      // Hold the resume request until the screenshot is taken.
      await page.route('**/api/streams/*', async (route) => {
        if (route.request().method() === 'GET') await held;
        await route.continue();
      });
      await page.goto(stack.url);
      await sendWithKeyboard(page, 'What happens when my connection drops?');
      await waitForLiveText(page, SHOWCASE_REPLY.length * 0.3);
      expect(stack.cutStreamConnections()).toBeGreaterThan(0);
      await page.waitForSelector('[data-status="reconnecting"]');
      await shoot(page, 'desktop-reconnecting');
      release();
      expect(await waitForReplyEnd(page)).toBe('done');
      expect(await lastReplyText(page)).toContain(normalize('Press Stop at any time'));
    } finally {
      await context.close();
    }
  });

  it('desktop: a reply streaming with an open code span shows it as code, never a raw backtick', async () => {
    stack = await startStack();
    const tokens = toTokens(SHOWCASE_REPLY);
    // Hold the model right after "Send `X-Accel-Buffering:": the code span is open until it resumes.
    const openSpan = tokens.findIndex((token) => token.includes('`X-Accel-Buffering:'));
    expect(openSpan).toBeGreaterThan(0);
    stack.fake.setReply({ tokens, tokenDelayMs: 5, stallAfterTokens: openSpan + 1 });
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 });
    try {
      const page = await context.newPage();
      await page.goto(stack.url);
      await sendWithKeyboard(page, 'How do I keep a streamed reply alive behind a proxy?');
      const live = page.getByTestId('live-reply');
      await page.waitForFunction(
        () => document.querySelector('[data-testid="live-reply"]')?.textContent?.includes('X-Accel-Buffering:'),
        undefined,
        { timeout: 20_000, polling: 20 },
      );
      expect(await live.locator('li code').last().textContent()).toBe('X-Accel-Buffering:');
      expect(await live.textContent()).not.toMatch(/[`*]/);
      await shoot(page, 'desktop-streaming-code-span');
      await page.getByRole('button', { name: 'Stop' }).click();
      expect(await waitForReplyEnd(page)).toBe('stopped');
      // Stopped mid-span, the reply keeps showing what it showed while it streamed.
      expect(await lastReply(page).locator('li code').last().textContent()).toBe('X-Accel-Buffering:');
    } finally {
      await context.close();
    }
  });

  it('tablet width (900 px): no horizontal overflow, controls on screen', async () => {
    stack = await startStack({ provider: 'demo', demoTokenIntervalMs: 5 });
    const context = await browser.newContext({ viewport: { width: 900, height: 800 } });
    try {
      const page = await context.newPage();
      await page.goto(stack.url);
      await sendWithKeyboard(page, 'hello');
      expect(await waitForReplyEnd(page)).toBe('done');
      await expectFitsWidth(page, 900);
      await shoot(page, 'tablet-done');
    } finally {
      await context.close();
    }
  });

  it('phone: the thread drawer opens from the menu button, Escape closes it, and Tab skips it when closed', async () => {
    stack = await startStack({ provider: 'demo', demoTokenIntervalMs: 1 });
    const context = await browser.newContext({ viewport: { width: 375, height: 780 } });
    try {
      const page = await context.newPage();
      await page.goto(stack.url);
      const newThread = page.getByRole('button', { name: 'New thread' });
      expect(await newThread.isVisible()).toBe(false);
      const menu = page.getByRole('button', { name: 'Threads' });
      await menu.click();
      await newThread.waitFor({ state: 'visible' });
      expect(await menu.getAttribute('aria-expanded')).toBe('true');
      await page.keyboard.press('Escape');
      await newThread.waitFor({ state: 'hidden' });
      expect(await menu.evaluate((element) => element === document.activeElement)).toBe(true);
      // With the drawer closed, keyboard focus never lands inside it.
      for (let index = 0; index < 8; index += 1) {
        await page.keyboard.press('Tab');
        expect(await page.evaluate(() => document.activeElement?.closest('.sidebar') === null)).toBe(true);
      }
    } finally {
      await context.close();
    }
  });
});
