import type { Browser, Page } from 'playwright-core';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import type { HttpClient } from '../../lib/browser/index.js';
import type { HttpHandlerOptions, SnakepitPool } from '../../lib/index.js';
import { bundleBrowserClient, launchChromium } from '../support/browser-tools.js';
import { describeInBrowser } from '../support/chromium.js';
import { startPageServer } from '../support/browser-page.js';
import type { TestServer } from '../support/http.js';
import { markerEvents, markerPath, nextEvent, startTestPool, waitUntil } from '../support/pools.js';

describeInBrowser('snakepit-rx/browser in Chromium, with real workers', () => {
  let pool: SnakepitPool;
  let browser: Browser;
  let bundle: string;
  let server: TestServer | undefined;
  let page: Page | undefined;

  beforeAll(async () => {
    [{ pool }, browser, bundle] = await Promise.all([
      startTestPool({ adapter: 'browser_adapter.BrowserAdapter', size: 2 }),
      launchChromium(),
      bundleBrowserClient(),
    ]);
  });
  afterEach(async () => {
    await page?.context().close();
    page = undefined;
    await server?.close();
    server = undefined;
    await waitUntil(() => pool.stats().busy === 0, 5_000, 'every worker to be idle again');
  });
  afterAll(async () => {
    await browser?.close();
    await pool?.close();
  });

  /** A fresh page (its own context) on the test page, served with these handler options. */
  async function openPage(options: Partial<HttpHandlerOptions> = {}, query = ''): Promise<Page> {
    server = await startPageServer(pool, bundle, options);
    const context = await browser.newContext();
    page = await context.newPage();
    await page.goto(`${server.baseUrl}/${query}`);
    return page;
  }

  /** Waits until the page's stream completed or failed, and says which, with the error shown (so a failure reads as itself, not as a timeout). */
  async function streamEnd(on: Page): Promise<{ status: string; error: string }> {
    await on.locator('#status', { hasText: /^(complete|failed)$/ }).waitFor();
    return { status: (await on.textContent('#status')) ?? '', error: (await on.textContent('#error')) ?? '' };
  }

  const shownChunks = (on: Page): Promise<string[]> => on.locator('#chunks li').allTextContents();
  const shownIndices = (on: Page) =>
    on
      .locator('#chunks li')
      .evaluateAll((items) => items.map((item) => Number((item as unknown as { dataset: Record<string, string> }).dataset['index'])));

  it('streams stream_progress into the page and shows every chunk, in order', async () => {
    const on = await openPage();
    await on.evaluate(() => (globalThis as unknown as TestPage).startStream('stream_progress', { steps: 25 }));
    expect(await streamEnd(on)).toEqual({ status: 'complete', error: '' });

    const shown = await shownChunks(on);
    expect(shown).toHaveLength(26);
    expect(shown.slice(0, 25).map((text) => (JSON.parse(text) as { step: number }).step)).toEqual(
      Array.from({ length: 25 }, (_, i) => i + 1),
    );
    expect(shown[25]).toBe('null');
    expect(await shownIndices(on)).toEqual(Array.from({ length: 26 }, (_, i) => i));
  });

  it("runs the generator's finally when Cancel is clicked, and leaves no busy worker", async () => {
    const on = await openPage();
    const marker = markerPath();
    const finished = nextEvent(pool, 'call_finished', (event) => event.tool === 'stream_progress');
    await on.evaluate(
      (path) => (globalThis as unknown as TestPage).startStream('stream_progress', { steps: 100_000, delay: 0.01, marker: path }),
      marker,
    );
    await on.locator('#chunks li').nth(4).waitFor();
    await on.click('#cancel');

    await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to close');
    expect((await finished).outcome).toBe('cancelled');
    await waitUntil(() => pool.stats().busy === 0, 5_000, 'the worker to be free');
  });

  it("runs the generator's finally when the page is closed, and leaves no busy worker", async () => {
    const on = await openPage();
    const marker = markerPath();
    await on.evaluate(
      (path) => (globalThis as unknown as TestPage).startStream('stream_progress', { steps: 100_000, delay: 0.01, marker: path }),
      marker,
    );
    await on.locator('#chunks li').nth(4).waitFor();
    await on.close();

    await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to close');
    await waitUntil(() => pool.stats().busy === 0, 5_000, 'the worker to be free');
  });

  it('shows a Python error with its type, after the chunks before it', async () => {
    const on = await openPage();
    await on.evaluate(() => (globalThis as unknown as TestPage).startStream('fail_after', { n: 3, message: 'loss went to NaN' }));
    await on.locator('#status', { hasText: 'failed' }).waitFor();

    expect(await on.textContent('#error')).toBe('python_error test_adapter.TrainingDiverged -: loss went to NaN');
    expect(await shownChunks(on)).toHaveLength(3);
  });

  it('refuses a tool outside the allow-list as if it did not exist, and lists only the exposed ones', async () => {
    const on = await openPage({ tools: ['stream_progress'] });
    await on.evaluate(() => (globalThis as unknown as TestPage).startStream('ticker', { marker: '/tmp/never' }));
    await on.locator('#status', { hasText: 'failed' }).waitFor();

    expect(await on.textContent('#error')).toMatch(/^tool_not_found - 404: no tool named "ticker"/);
    expect(
      await on.evaluate(() => (globalThis as unknown as TestPage).client.tools().then((tools) => tools.map((tool) => tool.name))),
    ).toEqual(['stream_progress']);
  });

  it('delivers bytes and numpy arrays identical to what Node gets', async () => {
    const on = await openPage();
    // The page compares with the same function: its source goes along.
    await on.evaluate(`globalThis.describeArray = ${describeArray.toString()}`);
    const inPage = await on.evaluate(async () => {
      const chunks = await new Promise<unknown[]>((resolve, reject) => {
        const all: unknown[] = [];
        (globalThis as unknown as TestPage).client
          .stream('arrays', { dtypes: ['uint8', 'int16', 'float32', 'float64', 'int64', 'bool'], n: 6, shape: [2, 3] })
          .subscribe({
            next: (chunk) => all.push(chunk.data),
            error: reject,
            complete: () => resolve(all),
          });
      });
      const bytes = await new Promise<Uint8Array>((resolve, reject) => {
        (globalThis as unknown as TestPage).client.stream<Uint8Array>('binary_chunks').subscribe({
          next: (chunk) => chunk.index === 0 && resolve(chunk.data),
          error: reject,
        });
      });
      const { describeArray } = globalThis as unknown as TestPage;
      return { arrays: chunks.map(describeArray), bytes: { type: bytes.constructor.name, values: Array.from(bytes) } };
    });

    const inNode = await lastValueFrom(
      pool.stream('arrays', { dtypes: ['uint8', 'int16', 'float32', 'float64', 'int64', 'bool'], n: 6, shape: [2, 3] }).pipe(toArray()),
    );
    expect(inPage.arrays).toEqual(inNode.map((chunk) => describeArray(chunk.data)));
    expect(inPage.arrays[4]).toMatchObject({ type: 'BigInt64Array', values: ['0', '1', '2', '3', '4', '5'] });
    expect(inPage.bytes).toEqual({ type: 'Uint8Array', values: [0, 1, 2, 255] });
  });

  it('resumes a stream whose connection drops, again and again, with no chunk lost or twice, when resumeWindow is set', async () => {
    const on = await openPage({ resumeWindow: 5_000 }, '?retry=3');
    const marker = markerPath();
    for (const index of [5, 20, 35]) server!.cutAfterChunk(index);
    await on.evaluate(
      (path) => (globalThis as unknown as TestPage).startStream('stream_progress', { steps: 60, delay: 0.01, marker: path }),
      marker,
    );
    expect(await streamEnd(on)).toEqual({ status: 'complete', error: '' });

    expect(await shownIndices(on)).toEqual(Array.from({ length: 61 }, (_, i) => i));
    expect(server!.streamSockets.length).toBe(4);
    expect(markerEvents(marker)).toEqual(['started', 'closed']);
  });

  it('cancels the tool when the connection drops and resumeWindow is not set; the page gets network_error', async () => {
    const on = await openPage({}, '?retry=3');
    const marker = markerPath();
    await on.evaluate(
      (path) => (globalThis as unknown as TestPage).startStream('stream_progress', { steps: 100_000, delay: 0.01, marker: path }),
      marker,
    );
    await on.locator('#chunks li').nth(4).waitFor();
    server!.streamSockets.at(-1)!.destroy();

    await on.locator('#status', { hasText: 'failed' }).waitFor();
    expect(await on.textContent('#error')).toMatch(/^network_error /);
    await waitUntil(() => markerEvents(marker).includes('closed'), 5_000, 'the generator to close');
  });

  it('gives unauthenticated and permission_denied with their statuses when authorize refuses', async () => {
    let verdict: 'unauthenticated' | 'forbidden' = 'unauthenticated';
    const on = await openPage({ authorize: () => verdict });
    const code = () =>
      on.evaluate(() =>
        (globalThis as unknown as TestPage).client
          .execute('add', { a: 1, b: 2 })
          .catch((error: { code: string; status: number }) => `${error.code} ${error.status}`),
      );

    expect(await code()).toBe('unauthenticated 401');
    verdict = 'forbidden';
    expect(await code()).toBe('permission_denied 403');
  });
});

/** What the test page (spec/browser/test-page.html) puts on its window. */
interface TestPage {
  startStream(tool: string, args?: Record<string, unknown>): void;
  client: HttpClient;
  describeArray: typeof describeArray;
}

/** An NdArray as comparable plain data: dtype, shape, the typed array's kind and its values as text (BigInts included). */
function describeArray(value: unknown) {
  const array = value as { dtype: string; shape: number[]; data: ArrayLike<number | bigint> & { constructor: { name: string } } } | null;
  if (array === null) return null;
  return { dtype: array.dtype, shape: array.shape, type: array.data.constructor.name, values: Array.from(array.data, String) };
}
