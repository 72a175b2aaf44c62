/**
 * The page's ChatKit view in Chromium. OpenAI's ChatKit script comes only from its CDN, which
 * these machines cannot reach: the view must say plainly why ChatKit is not shown. The CDN is
 * intercepted so that the outcome does not depend on the machine's network: refused (the
 * "cannot" path, as here), or answered by a stand-in element that records how the page mounts it
 * (against this server's `/chatkit`) and speaks the protocol to it from the page.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { chromiumPart } from '../helpers/system-part.ts';
import { ensureWebBuild } from './support/ensure-web-build.ts';
import { launchBrowser } from './support/launch-browser.ts';
import { type Stack, startStack } from './support/start-stack.ts';

const chromium = chromiumPart();
const CDN = 'https://cdn.platform.openai.com/**';

/** A stand-in `<openai-chatkit>`: records its options and lists threads through the configured API. */
const STAND_IN = `
customElements.define('openai-chatkit', class extends HTMLElement {
  setOptions(options) {
    window.__chatkit = { options };
    fetch(options.api.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ type: 'threads.list', params: {} }) })
      .then((response) => response.json())
      .then((answer) => { window.__chatkit.answer = answer; });
  }
});`;

describe.skipIf(!chromium.available)('the ChatKit view, in Chromium', () => {
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

  async function open(cdn: (page: Page) => Promise<unknown>): Promise<Page> {
    stack = await startStack({ provider: 'demo' });
    context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    await cdn(page);
    await page.goto(stack.url);
    await page.getByRole('link', { name: 'ChatKit view' }).click();
    return page;
  }

  it('says plainly why ChatKit cannot be shown when its CDN cannot be reached, and that the backend is fine', async () => {
    const page = await open((tab) => tab.route(CDN, (route) => route.abort('internetdisconnected')));
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('ChatKit could not be shown here.');
    const text = (await alert.textContent()) ?? '';
    expect(text).toContain('cdn.platform.openai.com');
    expect(text).toContain('could not load it from there');
    expect(text).toContain('POST /chatkit answers as usual');
    expect(await page.locator('openai-chatkit').count()).toBe(0);
    expect(await page.getByRole('status').count()).toBe(0);
    // Back to the chat.
    await page.getByRole('link', { name: 'Back to the streamwell chat' }).click();
    await expect.poll(() => page.getByRole('textbox', { name: 'Message' }).count()).toBe(1);
  });

  it('mounts <openai-chatkit> against this server when the script loads', async () => {
    const page = await open((tab) =>
      tab.route(CDN, (route) => route.fulfill({ status: 200, contentType: 'text/javascript', body: STAND_IN })),
    );
    await expect
      .poll(() => page.evaluate(() => (window as { __chatkit?: { answer?: unknown } }).__chatkit?.answer))
      .toEqual({
        data: [],
        has_more: false,
      });
    const options = await page.evaluate(
      () => (window as unknown as { __chatkit: { options: unknown } }).__chatkit.options,
    );
    expect(options).toEqual({
      api: {
        url: `${stack?.url}/chatkit`,
        domainKey: 'domain_pk_localhost_dev',
        uploadStrategy: { type: 'two_phase' },
      },
      history: { enabled: true },
      startScreen: { greeting: 'ChatKit on streamwell' },
    });
    expect(await page.locator('[data-testid="chatkit-host"] openai-chatkit').count()).toBe(1);
    expect(await page.getByRole('alert').count()).toBe(0);
  });
});
