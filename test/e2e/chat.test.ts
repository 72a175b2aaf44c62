/**
 * The reference page in real headless Chromium against the real reference server on loopback,
 * whose model is the fake OpenAI upstream (real wire format, pacing under the test's control).
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPart } from '../helpers/system-part.ts';
import {
  lastReply,
  lastReplyText,
  messageBox,
  normalize,
  recordStatuses,
  sendWithKeyboard,
  statusLog,
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

describe.skipIf(!chromium.available)('reference page in Chromium', () => {
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

  async function open(options: Parameters<typeof startStack>[0] = {}): Promise<Stack> {
    stack = await startStack(options);
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    await recordStatuses(page);
    await page.goto(stack.url);
    return stack;
  }

  it('streams tokens incrementally: the visible text grows through strictly longer prefixes', async () => {
    const tokens = numberedTokens(60);
    const { fake } = await open();
    fake.setReply({ tokens, tokenDelayMs: 40, firstTokenDelayMs: 100 });
    await sendWithKeyboard(page, 'count for me');

    const samples: string[] = [];
    await waitForLiveText(page, 1);
    for (;;) {
      // One evaluate per sample, so the state and the text are read at the same moment.
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
      const current = samples[index] as string;
      expect(current.length).toBeGreaterThan(previous.length);
      expect(current.startsWith(previous)).toBe(true);
    }
    expect(final.startsWith(samples[samples.length - 1] as string)).toBe(true);
  });

  it('Stop mid-stream cancels the run on the server and aborts the model call; partial text stays', async () => {
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

    // The run itself ended as cancelled: its replay (retained after the end) says so.
    const streamId = await lastReply(page).getAttribute('data-stream-id');
    expect(streamId).toBeTruthy();
    const replay = await fetch(`${url}/api/streams/${streamId}`);
    expect(replay.status).toBe(200);
    expect(await replay.text()).toMatch(/event: done\ndata: \{[^\n]*"finishReason":"cancelled"/);
    expect(
      await lastReply(page)
        .getByText(/^Stopped/)
        .isVisible(),
    ).toBe(true);
  });

  it('a connection cut mid-stream resumes from the last id: exact text, no duplicates, reconnecting shown', async () => {
    const tokens = numberedTokens(150);
    const expected = tokens.join('');
    const stackNow = await open();
    stackNow.fake.setReply({ tokens, tokenDelayMs: 25 });
    // Hold each resume request until the test has seen the reconnecting state on screen (a resume
    // on loopback is faster than a frame).
    let releaseResumes = (): void => {};
    const resumesHeld = new Promise<void>((resolve) => {
      releaseResumes = resolve;
    });
    await page.route('**/api/streams/*', async (route) => {
      if (route.request().method() === 'GET') await resumesHeld;
      await route.continue();
    });
    await sendWithKeyboard(page, 'survive a drop');
    await waitForLiveText(page, 40);
    const cut = stackNow.cutStreamConnections();
    expect(cut).toBeGreaterThan(0);
    await page.waitForSelector('[data-status="reconnecting"]', { timeout: 10_000 });
    releaseResumes();

    expect(await waitForReplyEnd(page)).toBe('done');
    expect(await lastReplyText(page)).toBe(expected);
    // The page said it was reconnecting and from which event id, then that it resumed from there.
    const statuses = await statusLog(page);
    const reconnecting = statuses.find((entry) => entry.startsWith('reconnecting|'));
    const resumedAt = Number(/resuming after event #(\d+)/.exec(reconnecting ?? '')?.[1]);
    expect(resumedAt).toBeGreaterThan(0);
    expect(statuses).toContain(`streaming|Streaming · resumed after event #${resumedAt}`);
    // The prompt was sent to the model once; the resume used GET with the last id.
    expect(stackNow.fake.generations).toHaveLength(1);
    expect(
      stackNow.requests.filter((request) => request.method === 'POST' && request.url.startsWith('/api/stream/message')),
    ).toHaveLength(1);
    expect(
      stackNow.requests.some((request) => request.method === 'GET' && request.url.startsWith('/api/streams/')),
    ).toBe(true);
  });

  it('a reload mid-stream resumes the reply: exact text, and no second POST to the provider', async () => {
    const tokens = numberedTokens(150);
    const expected = tokens.join('');
    const stackNow = await open();
    stackNow.fake.setReply({ tokens, tokenDelayMs: 25 });
    await sendWithKeyboard(page, 'reload me');
    await waitForLiveText(page, 30);
    await page.reload();

    expect(await waitForReplyEnd(page)).toBe('done');
    expect(await lastReplyText(page)).toBe(expected);
    // The thread survived the reload too.
    await expect(page.locator('article[data-role="user"]').last().textContent()).resolves.toContain('reload me');
    expect(stackNow.fake.generations).toHaveLength(1);
    expect(
      stackNow.requests.filter((request) => request.method === 'POST' && request.url.startsWith('/api/stream/message')),
    ).toHaveLength(1);
  });

  it('labels replies from the built-in demo model with a visible banner', async () => {
    await open({ provider: 'demo' });
    await expect(page.getByTestId('demo-banner').count()).resolves.toBe(0);
    await sendWithKeyboard(page, 'hello demo');
    await page.getByTestId('demo-banner').waitFor({ state: 'visible', timeout: 10_000 });
    expect(await page.getByTestId('demo-banner').textContent()).toContain('Demo model');
    expect(await waitForReplyEnd(page)).toBe('done');
    expect(await lastReplyText(page)).toContain('hello demo');
  });

  it('is keyboard-usable: Tab reaches "Message", Enter sends, Shift+Enter adds a line', async () => {
    const tokens = numberedTokens(12);
    const { fake } = await open();
    fake.setReply({ tokens, tokenDelayMs: 20 });
    // The first element Tab focuses is the skip link. Headless Chromium delivers key presses to a
    // page only once it has keyboard focus, which a loaded machine (CI) can give it late: bring
    // it to the front and wait for document.hasFocus(), then allow a press or two that only move
    // focus into the document (activeElement stays <body>).
    const focused = (): Promise<string> => page.evaluate(() => document.activeElement?.textContent ?? '');
    await page.bringToFront();
    await page.waitForFunction(() => document.hasFocus(), undefined, { timeout: 10_000 });
    for (let press = 0; press < 3; press += 1) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate(() => document.activeElement === document.body)) === false) break;
    }
    expect(await focused()).toBe('Skip to message box');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.id === 'message');
    await expect(messageBox(page).evaluate((element) => element === document.activeElement)).resolves.toBe(true);
    await page.keyboard.type('first line');
    await page.keyboard.press('Shift+Enter');
    await page.keyboard.type('second line');
    await expect(messageBox(page).inputValue()).resolves.toBe('first line\nsecond line');
    await page.keyboard.press('Enter');
    await waitForLiveText(page, 1);
    expect(await waitForReplyEnd(page)).toBe('done');
    expect(await lastReplyText(page)).toBe(tokens.join(''));
    await expect(messageBox(page).inputValue()).resolves.toBe('');
    const sent = await fake.waitForRequest(0);
    expect(JSON.stringify(sent.body)).toContain('first line\\nsecond line');
  });

  it('streams over the WebSocket transport when it is chosen, and Stop cancels the run there too', async () => {
    const tokens = numberedTokens(300);
    const { fake } = await open();
    fake.setReply({ tokens: tokens.slice(0, 20), tokenDelayMs: 20 });
    await page.getByRole('radio', { name: 'WebSocket' }).check();
    await sendWithKeyboard(page, 'over a socket');
    expect(await waitForReplyEnd(page)).toBe('done');
    expect(await lastReplyText(page)).toBe(tokens.slice(0, 20).join(''));
    // The reply came over /ws/stream, not over the SSE endpoint.
    const stackNow = stack as Stack;
    expect(stackNow.requests.some((request) => request.url.startsWith('/ws/stream'))).toBe(true);
    expect(stackNow.requests.some((request) => request.url.startsWith('/api/stream/message'))).toBe(false);

    fake.setReply({ tokens, tokenDelayMs: 40 });
    await sendWithKeyboard(page, 'and stop it');
    await waitForLiveText(page, 20);
    await page.getByRole('button', { name: 'Stop' }).click();
    expect(await waitForReplyEnd(page)).toBe('stopped');
    await expect((await fake.waitForRequest(1)).closed).resolves.toEqual({ aborted: true });
  });

  it('keeps the partial text when the model fails mid-reply, and says why', async () => {
    const tokens = numberedTokens(40);
    const { fake } = await open();
    // The upstream connection dies after 15 tokens: the run ends with a terminal `error` event.
    fake.setReply({ tokens, tokenDelayMs: 10, dropAfterTokens: 15 });
    await sendWithKeyboard(page, 'fail halfway');
    expect(await waitForReplyEnd(page)).toBe('error');
    expect(await lastReplyText(page)).toBe(tokens.slice(0, 15).join(''));
    const note = await lastReply(page).getByRole('alert').textContent();
    expect(note).toMatch(/Error \(upstream_error\)/);
    expect(note).toContain('partial reply kept');
    await page.waitForSelector('[data-status="error"]');
  });

  it('keeps threads apart: a follow-up continues its thread on the server, a new thread starts fresh', async () => {
    const { fake } = await open();
    fake.setReply({ tokens: [' first', ' answer'], tokenDelayMs: 5 });
    await sendWithKeyboard(page, 'question one');
    expect(await waitForReplyEnd(page)).toBe('done');
    fake.setReply({ tokens: [' second', ' answer'], tokenDelayMs: 5 });
    await sendWithKeyboard(page, 'question two');
    expect(await waitForReplyEnd(page)).toBe('done');
    // The follow-up went to the same server thread: the model saw the first exchange.
    const followUp = JSON.stringify((await fake.waitForRequest(1)).body);
    expect(followUp).toContain('question one');
    expect(followUp).toContain('first answer');

    await page.getByRole('button', { name: 'New thread' }).click();
    await expect(page.locator('article').count()).resolves.toBe(0);
    fake.setReply({ tokens: [' fresh'], tokenDelayMs: 5 });
    await sendWithKeyboard(page, 'question three');
    expect(await waitForReplyEnd(page)).toBe('done');
    const fresh = JSON.stringify((await fake.waitForRequest(2)).body);
    expect(fresh).toContain('question three');
    expect(fresh).not.toContain('question one');

    // Back to the first thread: its four messages are still there.
    await page
      .getByRole('navigation', { name: 'Threads' })
      .getByRole('button', { name: /question one/ })
      .click();
    await expect(page.locator('article').count()).resolves.toBe(4);
    expect(await lastReplyText(page)).toBe('second answer');
  });
});
