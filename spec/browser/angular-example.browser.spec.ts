import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/browser-tools.js';
import { describeInBrowser } from '../support/chromium.js';
import { FIXTURES, markerEvents, markerPath, waitUntil } from '../support/pools.js';

const example = fileURLToPath(new URL('../../examples/angular/', import.meta.url));
const screenshots = fileURLToPath(new URL('./screenshots/', import.meta.url));
/** The Angular CLI asks and downloads nothing: no analytics prompt, no update check. */
const quietAngular = { ...process.env, NG_CLI_ANALYTICS: 'false', NG_CLI_ANALYTICS_SHARE: 'false', CI: 'true' };

/**
 * Installs the example (its own lockfile) when it was not yet, and builds it, as its README says. The
 * example uses the built package (dist/), as an app would: it is built first, so that the example sees
 * the library as it is now rather than as the last `npm install` built it.
 */
function buildExample(): void {
  execFileSync('npm', ['run', 'build'], { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: 'pipe' });
  if (!existsSync(join(example, 'node_modules', '.package-lock.json'))) {
    execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: example, env: quietAngular, stdio: 'pipe' });
  }
  execFileSync('npx', ['ng', 'build'], { cwd: example, env: quietAngular, stdio: 'pipe' });
}

/** Runs the example's server (`npm run serve`) on a free port, serving the spec's marked copy of the guide's adapter. */
async function startExampleServer(marker: string): Promise<{ url: string; process: ChildProcess }> {
  const child = spawn(process.execPath, ['server.mjs'], {
    cwd: example,
    env: {
      ...process.env,
      PORT: '0',
      SNAKEPIT_ADAPTER: 'angular_training.MarkedTraining',
      SNAKEPIT_PYTHONPATH: [FIXTURES, join(example, '..', 'adapters')].join(delimiter),
      SNAKEPIT_TRAINING_MARKER: marker,
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout });
  const [line] = (await Promise.race([
    once(lines, 'line'),
    once(child, 'exit').then(() => {
      throw new Error('the example server exited before listening');
    }),
  ])) as [string];
  const url = /listening on (\S+)/.exec(line)?.[1];
  if (url === undefined) throw new Error(`unexpected first line from the example server: ${line}`);
  return { url, process: child };
}

describeInBrowser('the Angular example, end to end', () => {
  const marker = markerPath();
  let server: { url: string; process: ChildProcess } | undefined;
  let browser: Browser | undefined;
  let page: Page;

  beforeAll(async () => {
    buildExample();
    [server, browser] = await Promise.all([startExampleServer(marker), launchChromium()]);
    page = await browser.newPage();
    await page.goto(server.url);
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    if (server !== undefined && server.process.exitCode === null) {
      const exited = once(server.process, 'exit');
      server.process.kill('SIGTERM');
      await exited;
    }
  });

  async function train(epochs: number): Promise<void> {
    await page.fill('#epochs', String(epochs));
    await page.click('#train');
  }

  it('shows a line for every epoch, and the bar reaches 100 %', async () => {
    await train(3);
    await page.locator('#done').waitFor();

    expect(await page.locator('#epoch-lines li').allTextContents()).toEqual([
      expect.stringMatching(/^Epoch 1: loss 0\.8, accuracy 0\.55$/),
      expect.stringMatching(/^Epoch 2: loss 0\.64, accuracy 0\.6$/),
      expect.stringMatching(/^Epoch 3: loss 0\.512, accuracy 0\.65$/),
    ]);
    expect(await page.textContent('#percent')).toBe('100 %');
    expect(await page.getAttribute('#bar', 'value')).toBe('100');
    mkdirSync(screenshots, { recursive: true });
    await page.screenshot({ path: join(screenshots, 'angular-training.png'), fullPage: true });
  });

  it('stops the Python generator when Cancel is clicked', async () => {
    const runsBefore = markerEvents(marker).filter((event) => event === 'closed').length;
    await train(40);
    await page.locator('#epoch-lines li').nth(1).waitFor();
    await page.click('#cancel');

    await waitUntil(() => markerEvents(marker).filter((event) => event === 'closed').length === runsBefore + 1, 5_000, 'the finally');
    await page.locator('#cancelled').waitFor();
    const shown = await page.locator('#epoch-lines li').count();
    expect(shown).toBeLessThan(40);
    expect(await page.locator('#train').isEnabled()).toBe(true);
  });

  it('shows the error when the tool fails', async () => {
    await train(99);

    await expect(page.locator('#error').textContent()).resolves.toBe('ValueError: 99 epochs is too many for this demo (at most 50)');
  });

  it('answers a path that is not valid percent-encoding with 400, and serves on', async () => {
    expect((await fetch(`${server!.url}%E0%A4%A`)).status).toBe(400);
    expect((await fetch(server!.url)).status).toBe(200);
  });
});
