/** readBoundedLines: lines as readline splits them, cut into marked pieces past a maximum length. */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CUT_MARK, readBoundedLines } from '../lib/worker/bounded-lines.js';

/** The lines of `chunks` written one by one, with a maximum of `max` code units. */
async function linesOf(chunks: (string | Buffer)[], max: number): Promise<[string, boolean][]> {
  const input = new PassThrough();
  const lines: [string, boolean][] = [];
  readBoundedLines(input, (line, cut) => lines.push([line, cut]), max);
  const ended = new Promise((resolve) => input.on('end', resolve));
  for (const chunk of chunks) input.write(chunk);
  input.end();
  await ended;
  return lines;
}

describe('readBoundedLines', () => {
  it('splits on newlines, drops a carriage return before one, and delivers a last line without a newline', async () => {
    expect(await linesOf(['one\ntw', 'o\r\n\nthree'], 10)).toEqual([
      ['one', false],
      ['two', false],
      ['', false],
      ['three', false],
    ]);
  });

  it('cuts a long line into pieces of the maximum, each marked but the last, whether or not its newline has come', async () => {
    const cut = (text: string): [string, boolean] => [`${text}${CUT_MARK}`, true];
    expect(await linesOf(['abcdefghij\nk'], 4)).toEqual([cut('abcd'), cut('efgh'), ['ij', false], ['k', false]]);
    expect(await linesOf(['abcd', 'efgh', 'ijkl'], 4)).toEqual([cut('abcd'), cut('efgh'), ['ijkl', false]]);
    // Exactly the maximum is not cut.
    expect(await linesOf(['abcd\n'], 4)).toEqual([['abcd', false]]);
  });

  it('never holds more than the maximum of a line that has no newline yet', async () => {
    const input = new PassThrough();
    const lines: string[] = [];
    readBoundedLines(input, (line) => lines.push(line), 8);
    input.write('x'.repeat(20));
    await new Promise((resolve) => setImmediate(resolve));
    expect(lines).toEqual([`${'x'.repeat(8)}${CUT_MARK}`, `${'x'.repeat(8)}${CUT_MARK}`]);
    input.end();
  });

  it('keeps a multi-byte character whole when its bytes arrive in two chunks', async () => {
    const snake = Buffer.from('🐍\n');
    expect(await linesOf([snake.subarray(0, 2), snake.subarray(2)], 10)).toEqual([['🐍', false]]);
  });
});
