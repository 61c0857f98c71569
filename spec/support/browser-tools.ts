// What the browser specs and the bench share to put a page in front of Chromium:
// Debian's Chromium, launched by playwright-core, and the browser client bundled
// as an application would bundle it. No test framework here: the bench imports it too.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium, which playwright-core drives without downloading a browser of its own. */
export const CHROMIUM_PATH = process.env['SNAKEPIT_CHROMIUM'] ?? '/usr/bin/chromium';

export const chromiumAvailable = existsSync(CHROMIUM_PATH);

/** What works on this machine, as root, in a closed network: no sandbox, no GPU, no background traffic. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Starts headless Chromium; the caller closes it. */
export function launchChromium(): Promise<Browser> {
  if (!chromiumAvailable) throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install chromium, or set SNAKEPIT_CHROMIUM`);
  return chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

const root = fileURLToPath(new URL('../..', import.meta.url));

/** `snakepit-rx/browser` bundled for a page, as `window.snakepit`. */
export async function bundleBrowserClient(options: { minify?: boolean } = {}): Promise<string> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: ['lib/browser/index.ts'],
    bundle: true,
    minify: options.minify ?? false,
    platform: 'browser',
    format: 'iife',
    globalName: 'snakepit',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}
