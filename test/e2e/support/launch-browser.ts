/**
 * Headless Chromium from Debian, driven by `playwright-core` (no browser download).
 *
 * @module
 */
import { type Browser, chromium } from 'playwright-core';

/** The Debian Chromium binary. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Launches headless Chromium with flags that keep it quiet and offline.
 *
 * @returns the browser; close it in `afterAll`
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
