/**
 * The page's conversations come from the server: a fresh tab lists the stored threads (newest
 * first), opening one loads its history with how each reply ended, and a thread can be deleted
 * (on the server too). Threads are seeded through the server's own store, as earlier sessions on
 * any instance would have left them.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { createMemoryThreadStore, type ItemStatus, type ThreadStore } from 'streamwell/server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPart } from '../helpers/system-part.ts';
import { lastReplyText, normalize } from './support/chat-page.ts';
import { ensureWebBuild } from './support/ensure-web-build.ts';
import { launchBrowser } from './support/launch-browser.ts';
import { type Stack, startStack } from './support/start-stack.ts';

const chromium = chromiumPart();

/** A store whose clock starts a minute ago and moves 1 ms per reading: seeded order is time order. */
function createSeededStore(): ThreadStore {
  let tick = Date.now() - 60_000;
  return createMemoryThreadStore({ now: () => new Date(tick++) });
}

async function seed(
  threads: ThreadStore,
  threadId: string,
  turns: readonly (readonly [question: string, reply: string, status: ItemStatus])[],
): Promise<void> {
  for (const [question, reply, status] of turns) {
    const turn = await threads.beginTurn({ threadId, owner: undefined, message: question, streamId: `s-${question}` });
    await threads.updateMessage({ threadId, messageId: turn.assistantMessageId, content: reply, status });
  }
}

describe.skipIf(!chromium.available)('conversations stored on the server, in Chromium', () => {
  let browser: Browser;
  let context: BrowserContext | undefined;
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
    context = undefined;
    await stack?.close();
    stack = undefined;
  });

  async function openTab(): Promise<Page> {
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await page.goto((stack as Stack).url);
    return page;
  }

  const threadButtons = (page: Page) =>
    page.getByRole('navigation', { name: 'Threads' }).locator('button.thread .thread-title');

  it('lists the stored threads newest first, and opening one shows its history and how replies ended', async () => {
    const threads = createSeededStore();
    await seed(threads, 'older', [['How do retries work?', 'With backoff.', 'complete']]);
    await seed(threads, 'newer', [
      ['Explain SSE', 'Server-sent events are', 'interrupted'],
      ['And stop?', 'Stop cancels the run', 'cancelled'],
    ]);
    stack = await startStack({ provider: 'demo', threads });
    const page = await openTab();

    // A new tab starts on a new, empty conversation, above the stored ones.
    await expect
      .poll(() => threadButtons(page).allTextContents())
      .toEqual(['New conversation', 'Explain SSE', 'How do retries work?']);
    await threadButtons(page).filter({ hasText: 'Explain SSE' }).click();
    await expect.poll(() => page.locator('article').count()).toBe(4);
    const articles = page.locator('article');
    expect(normalize((await articles.nth(0).textContent()) ?? '')).toContain('Explain SSE');
    await expect(articles.nth(1).getAttribute('data-outcome')).resolves.toBe('error');
    expect(await articles.nth(1).getByRole('alert').textContent()).toMatch(/interrupted/);
    await expect(articles.nth(3).getAttribute('data-outcome')).resolves.toBe('stopped');
    expect(await lastReplyText(page)).toBe('Stop cancels the run');
    await expect(page.locator('h1').textContent()).resolves.toBe('Explain SSE');
  });

  it('deletes a thread on the server: it is gone from this tab and from a new one', async () => {
    const threads = createSeededStore();
    await seed(threads, 'keep', [['Keep me', 'ok', 'complete']]);
    await seed(threads, 'drop', [['Delete me', 'ok', 'complete']]);
    stack = await startStack({ provider: 'demo', threads });
    const page = await openTab();
    await expect
      .poll(() => threadButtons(page).allTextContents())
      .toEqual(['New conversation', 'Delete me', 'Keep me']);

    const item = page.getByRole('listitem').filter({ hasText: 'Delete me' });
    await item.getByRole('button', { name: 'Delete thread' }).click();
    await expect.poll(() => threadButtons(page).allTextContents()).not.toContain('Delete me');
    expect(await threads.getThread('drop', undefined)).toBeUndefined();
    expect(await threads.getThread('keep', undefined)).toBeDefined();
    expect(stack.requests).toContainEqual({ method: 'DELETE', url: '/api/threads/drop' });

    await context?.close();
    const fresh = await openTab();
    await expect.poll(() => threadButtons(fresh).allTextContents()).toEqual(['New conversation', 'Keep me']);
  });
});
