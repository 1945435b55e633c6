/**
 * A headless Chromium for browser tests and the dashboard benchmark: the machine's own (Debian's
 * `chromium` package, installed by scripts/install-tools.sh), driven by playwright-core, which never
 * downloads a browser of its own. `CHROMIUM_PATH` names another binary.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export type { Browser, Page } from 'playwright-core';

export const DEFAULT_CHROMIUM_PATH = '/usr/bin/chromium';

export function chromiumPath(): string {
  const path = process.env['CHROMIUM_PATH'] ?? DEFAULT_CHROMIUM_PATH;
  if (!existsSync(path))
    throw new Error(
      `no Chromium at ${path}: install it (apt-get install chromium; scripts/install-tools.sh does) or set CHROMIUM_PATH`,
    );
  return path;
}

/**
 * Launches it headless, as root in a container can (no sandbox), and without the background
 * connections to Google's services a closed network refuses.
 */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
