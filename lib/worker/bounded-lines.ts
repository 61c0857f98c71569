import { StringDecoder } from 'node:string_decoder';
import type { Readable } from 'node:stream';

/** The longest piece of a line delivered at once, in UTF-16 code units. */
export const MAX_LINE_LENGTH = 64 * 1024;
/** Ends every piece of a cut line but its last. */
export const CUT_MARK = ' [line continues]';

/**
 * Calls `onLine` for each line of a stream, as readline does, except that a
 * line longer than `maxLength` arrives in pieces of `maxLength`, each but
 * the last ending with {@link CUT_MARK}. readline keeps a line until its
 * newline: a process writing without newlines fills Node's memory, and past
 * 512 MiB V8 refuses the string and Node crashes. `cut` tells the caller
 * that a piece is not a whole line.
 */
export function readBoundedLines(input: Readable, onLine: (line: string, cut: boolean) => void, maxLength: number = MAX_LINE_LENGTH): void {
  const decoder = new StringDecoder('utf8');
  let pending = '';
  const deliver = (line: string, cut: boolean) => onLine(cut ? `${line}${CUT_MARK}` : line, cut);
  const take = (text: string) => {
    pending += text;
    let start = 0;
    for (let newline = pending.indexOf('\n'); newline >= 0; newline = pending.indexOf('\n', start)) {
      // A line is cut only while more than maxLength remains, so its last piece is never empty.
      while (newline - start > maxLength) {
        deliver(pending.slice(start, start + maxLength), true);
        start += maxLength;
      }
      const end = newline > start && pending.charCodeAt(newline - 1) === 13 ? newline - 1 : newline;
      deliver(pending.slice(start, end), false);
      start = newline + 1;
    }
    while (pending.length - start > maxLength) {
      deliver(pending.slice(start, start + maxLength), true);
      start += maxLength;
    }
    pending = pending.slice(start);
  };
  input.on('data', (data: Buffer | string) => take(typeof data === 'string' ? data : decoder.write(data)));
  input.on('end', () => {
    take(decoder.end());
    if (pending !== '') deliver(pending, false);
    pending = '';
  });
}
