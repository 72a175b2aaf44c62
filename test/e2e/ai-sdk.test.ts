/**
 * The `/ai-sdk` page (the real `@ai-sdk/react` `useChat` with `DefaultChatTransport`) in headless
 * Chromium against the reference server, whose model is the fake OpenAI upstream: replies render
 * as they stream, Stop aborts the model call, and a cut connection or a reload both end with the
 * exact reply, once.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPart } from '../helpers/system-part.ts';
import {
  lastReply,
  lastReplyText,
  normalize,
  sendWithKeyboard,
  waitForLiveText,
  waitForReplyEnd,
} from './support/chat-page.ts';
import { ensureWebBuild } from './support/ensure-web-build.ts';
import { launchBrowser } from './support/launch-browser.ts';
import { type Stack, startStack } from './support/start-stack.ts';

const chromium = chromiumPart();

/** `count` numbered word tokens: any lost or repeated token changes the text. */
const numberedTokens = (count: number): string[] =>
  Array.from({ length: count }, (_, index) => `${index === 0 ? '' : ' '}w${index + 1}`);

describe.skipIf(!chromium.available)('/ai-sdk page (useChat) in Chromium', () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let stack: Stack | undefined;

  beforeAll(async () => {
    ensureWebBuild();
    browser = await launchBrowser();
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
  });

  afterEach(async () => {
    await context?.close();
    await stack?.close();
    stack = undefined;
  });

  async function open(): Promise<Stack> {
    stack = await startStack();
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    await page.goto(`${stack.url}/ai-sdk`);
    await page.getByRole('textbox', { name: 'Message' }).waitFor();
    return stack;
  }

  const chatPosts = (current: Stack) =>
    current.requests.filter((request) => request.method === 'POST' && request.url === '/api/chat');

  it('renders the reply as it streams: strictly longer prefixes, then the exact text', async () => {
    const tokens = numberedTokens(60);
    const { fake } = await open();
    fake.setReply({ tokens, tokenDelayMs: 40, firstTokenDelayMs: 100 });
    await sendWithKeyboard(page, 'count for me');

    const samples: string[] = [];
    await waitForLiveText(page, 1);
    for (;;) {
      const sample = await page.evaluate(() => {
        const articles = document.querySelectorAll('article[data-role="assistant"]');
        const last = articles[articles.length - 1];
        return {
          outcome: last?.getAttribute('data-outcome') ?? '',
          text: last?.querySelector('.message-body')?.textContent ?? '',
        };
      });
      if (sample.outcome !== 'streaming') break;
      const text = normalize(sample.text);
      if (text !== '' && text !== samples[samples.length - 1]) samples.push(text);
      await page.waitForTimeout(60);
    }
    expect(await waitForReplyEnd(page)).toBe('done');
    const final = await lastReplyText(page);
    expect(final).toBe(tokens.join(''));
    expect(samples.length).toBeGreaterThanOrEqual(5);
    for (let index = 1; index < samples.length; index += 1) {
      const previous = samples[index - 1] as string;
      expect((samples[index] as string).startsWith(previous)).toBe(true);
      expect((samples[index] as string).length).toBeGreaterThan(previous.length);
    }
    await expect(page.locator('article[data-role="user"]').last().textContent()).resolves.toContain('count for me');
  });

  it('Stop aborts the upstream model call and keeps the partial text', async () => {
    const tokens = numberedTokens(400);
    const { fake, url } = await open();
    fake.setReply({ tokens, tokenDelayMs: 40 });
    await sendWithKeyboard(page, 'a long answer please');
    await waitForLiveText(page, 20);
    await page.getByRole('button', { name: 'Stop' }).click();

    expect(await waitForReplyEnd(page)).toBe('stopped');
    const upstream = await fake.waitForRequest(0);
    await expect(upstream.closed).resolves.toEqual({ aborted: true });
    const partial = await lastReplyText(page);
    expect(partial.length).toBeGreaterThan(0);
    expect(tokens.join('').startsWith(partial)).toBe(true);
    expect(partial.length).toBeLessThan(tokens.join('').length);
    // The run ended as cancelled on the server: its replay, by stream id (= the message id), says so.
    const streamId = await lastReply(page).getAttribute('data-message-id');
    const replay = await fetch(`${url}/api/streams/${streamId}`);
    expect(await replay.text()).toMatch(/event: done\ndata: \{[^\n]*"finishReason":"cancelled"/);
  });

  it('a connection cut mid-stream ends with the exact reply once, after showing the reconnect', async () => {
    const tokens = numberedTokens(150);
    const current = await open();
    current.fake.setReply({ tokens, tokenDelayMs: 25 });
    // Hold each resume a moment so that the reconnecting state is on screen long enough to see.
    await page.route('**/api/chat/*/stream', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 600));
      await route.continue();
    });
    await sendWithKeyboard(page, 'survive a drop');
    await waitForLiveText(page, 40);
    expect(current.cutStreamConnections()).toBeGreaterThan(0);
    await page.waitForSelector('[data-status="reconnecting"]', { timeout: 10_000 });

    expect(await waitForReplyEnd(page)).toBe('done');
    expect(await lastReplyText(page)).toBe(tokens.join(''));
    await expect(page.locator('article[data-role="assistant"]').count()).resolves.toBe(1);
    expect(current.fake.generations).toHaveLength(1);
    expect(chatPosts(current)).toHaveLength(1);
    expect(current.requests.some((request) => request.method === 'GET' && request.url.endsWith('/stream'))).toBe(true);
  });

  it('a reload mid-stream ends with the exact reply once, and no second model call', async () => {
    const tokens = numberedTokens(150);
    const current = await open();
    current.fake.setReply({ tokens, tokenDelayMs: 25 });
    await sendWithKeyboard(page, 'reload me');
    await waitForLiveText(page, 30);
    await page.reload();

    expect(await waitForReplyEnd(page)).toBe('done');
    expect(await lastReplyText(page)).toBe(tokens.join(''));
    await expect(page.locator('article[data-role="assistant"]').count()).resolves.toBe(1);
    await expect(page.locator('article[data-role="user"]').last().textContent()).resolves.toContain('reload me');
    expect(current.fake.generations).toHaveLength(1);
    expect(chatPosts(current)).toHaveLength(1);
  });
});
