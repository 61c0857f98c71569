import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { build } from 'esbuild';
import { chromium, type Browser } from 'playwright-core';
import { createHttpHandler, type SnakepitPool } from 'snakepit-rx';
import { onCleanup } from './cleanup.js';
import { repoRoot } from './paths.js';

/** Debian's Chromium, driven by playwright-core (which downloads nothing). */
export const CHROMIUM_PATH = process.env['SNAKEPIT_CHROMIUM'] ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

// tsx keeps function names with esbuild's __name helper, which code that page.evaluate() sends along calls.
const PAGE =
  '<!doctype html><html><head><meta charset="utf-8"><script>globalThis.__name = (target) => target;</script>' +
  '<script src="/client.js"></script></head><body></body></html>';

/** Headless Chromium, closed at the end of the run whatever happens. */
export async function launchBenchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH))
    throw new Error(`Chromium not found at ${CHROMIUM_PATH}: apt-get install chromium, or set SNAKEPIT_CHROMIUM`);
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
  onCleanup(() => browser.close());
  return browser;
}

/** `snakepit-rx/browser` bundled for a page (`window.snakepit`), minified as an application would ship it. */
async function bundleClient(): Promise<string> {
  const result = await build({
    absWorkingDir: repoRoot,
    entryPoints: ['lib/browser/index.ts'],
    bundle: true,
    minify: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'snakepit',
    write: false,
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

/** Serves a blank page with the client (`/`), and the pool's handler under `/api`, from one origin. */
export async function servePage(pool: SnakepitPool, tools: readonly string[]): Promise<{ url: string; server: Server }> {
  const bundle = await bundleClient();
  const handler = createHttpHandler(pool, { tools, basePath: '/api' });
  const server = createServer((req, res) => {
    if (req.url === '/' || req.url === '/client.js') {
      res.writeHead(200, { 'Content-Type': req.url === '/' ? 'text/html' : 'text/javascript' });
      res.end(req.url === '/' ? PAGE : bundle);
    } else handler(req, res);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  onCleanup(() => {
    server.closeAllConnections();
    server.close();
  });
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}
