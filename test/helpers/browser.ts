import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/**
 * Debian's Chromium, driven by playwright-core. Playwright must never download a browser of its own
 * (this machine cannot, and CI must not try): the executable is always the system one.
 * Install it with `apt-get update && apt-get install -y chromium`.
 */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/**
 * Where browser tests leave their screenshots: an untracked folder, so `make test` never rewrites
 * the committed pictures in bench/results/ (copy one over by hand to refresh the README's).
 */
export const SCREENSHOT_DIR = 'bench/results/tmp';

export function chromiumAvailable(): boolean {
  return existsSync(CHROMIUM_PATH);
}

export async function launchChromium(): Promise<Browser> {
  if (!chromiumAvailable()) throw new Error(`${CHROMIUM_PATH} is missing: apt-get install -y chromium`);
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    // The background-networking flags matter here: with no internet, Chromium's own update,
    // sync and QUIC probes would otherwise be refused over and over.
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
      '--disable-sync',
    ],
  });
}
