import { afterAll, expect } from 'vitest';
import { chromiumChildren } from './chromium.js';

// Every spec file must close the browsers it launches: a Chromium still
// running once the file's own hooks are done was left by one of its tests.
afterAll(async () => {
  if (process.platform !== 'linux') return;
  const deadline = Date.now() + 3_000;
  let leaked = chromiumChildren(process.pid);
  while (leaked.length > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    leaked = chromiumChildren(process.pid);
  }
  for (const pid of leaked) process.kill(pid, 'SIGKILL');
  expect(leaked, 'Chromium processes left running by this spec file').toEqual([]);
});
