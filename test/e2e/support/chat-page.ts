/**
 * What the e2e tests do on the reference page, in the words of a user: type into "Message",
 * press Enter, watch the reply, press "Stop".
 *
 * @module
 */
import type { Locator, Page } from 'playwright-core';

/** The textbox labelled "Message". */
export const messageBox = (page: Page): Locator => page.getByRole('textbox', { name: 'Message' });

/** The last assistant message (streaming or finished). */
export const lastReply = (page: Page): Locator => page.locator('article[data-role="assistant"]').last();

/** The text of the last assistant reply, as rendered, with whitespace collapsed. */
export async function lastReplyText(page: Page): Promise<string> {
  const text = await lastReply(page).locator('.message-body').textContent();
  return normalize(text ?? '');
}

/** Collapses whitespace the way rendered markdown does, for comparing with the source text. */
export const normalize = (text: string): string => text.replace(/\s+/g, ' ').trim();

/** Types a message and presses Enter (the keyboard path a user takes). */
export async function sendWithKeyboard(page: Page, message: string): Promise<void> {
  const box = messageBox(page);
  await box.click();
  await box.pressSequentially(message);
  await box.press('Enter');
}

/** Resolves once the last reply has ended (`done`, `stopped` or `error`) and returns its outcome. */
export async function waitForReplyEnd(page: Page, timeoutMs = 30_000): Promise<string> {
  const reply = lastReply(page);
  await page.waitForFunction(
    () => {
      const articles = document.querySelectorAll('article[data-role="assistant"]');
      const last = articles[articles.length - 1];
      const outcome = last?.getAttribute('data-outcome');
      return outcome === 'done' || outcome === 'stopped' || outcome === 'error';
    },
    undefined,
    { timeout: timeoutMs, polling: 50 },
  );
  return (await reply.getAttribute('data-outcome')) ?? '';
}

/** Resolves once the live reply shows at least `minChars` characters. */
export async function waitForLiveText(page: Page, minChars: number, timeoutMs = 20_000): Promise<void> {
  await page.waitForFunction(
    (min) => (document.querySelector('[data-testid="live-reply"]')?.textContent?.trim().length ?? 0) >= min,
    minChars,
    { timeout: timeoutMs, polling: 20 },
  );
}

/**
 * Records every status the page shows (the `data-status` of the status badge), from page load on,
 * in `window.__statusLog`. Call before `goto`.
 */
export async function recordStatuses(page: Page): Promise<void> {
  await page.addInitScript(() => {
    const log: string[] = [];
    (window as unknown as { __statusLog: string[] }).__statusLog = log;
    const note = (): void => {
      const badge = document.querySelector('[data-status]');
      const entry = `${badge?.getAttribute('data-status')}|${badge?.textContent ?? ''}`;
      if (badge !== null && log[log.length - 1] !== entry) log.push(entry);
    };
    new MutationObserver(note).observe(document, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ['data-status'],
    });
  });
}

/** The statuses recorded by {@link recordStatuses}, as `status|label` strings. */
export const statusLog = (page: Page): Promise<string[]> =>
  page.evaluate(() => (window as unknown as { __statusLog: string[] }).__statusLog ?? []);
