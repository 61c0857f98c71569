/**
 * Text cut to a size in UTF-8 bytes, saying how much was cut: for what must
 * fit in gRPC trailers. The Python worker (worker-python's truncation.py)
 * cuts the same way to the same sizes, so that text it cut passes here
 * unchanged instead of being marked twice.
 */

// Room for the marker: "… [cut: 9,999,999,999 more characters]" and its newlines.
const MARKER_ROOM = 64;

const isContinuationByte = (byte: number): boolean => (byte & 0xc0) === 0x80;

/** Characters (code points) in UTF-8 bytes: every byte but continuation bytes starts one. */
function countCharacters(bytes: Uint8Array): number {
  let count = 0;
  for (const byte of bytes) if (!isContinuationByte(byte)) count += 1;
  return count;
}

/** The end of the longest run of whole characters within the first `size` bytes. */
function prefixEnd(bytes: Uint8Array, size: number): number {
  let end = size;
  while (end > 0 && isContinuationByte(bytes[end]!)) end -= 1;
  return end;
}

/** The start of the longest run of whole characters within the last `size` bytes. */
function suffixStart(bytes: Uint8Array, size: number): number {
  let start = bytes.length - size;
  while (start < bytes.length && isContinuationByte(bytes[start]!)) start += 1;
  return start;
}

const counted = (count: number): string => count.toLocaleString('en-US');

/** The text if it fits in `maxBytes` of UTF-8; else its beginning, marked as cut, within `maxBytes`. */
export function cutEnd(text: string, maxBytes: number): string {
  // Most texts are short: no need to encode them to know they fit.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const end = prefixEnd(bytes, maxBytes - MARKER_ROOM);
  return `${bytes.toString('utf8', 0, end)}… [cut: ${counted(countCharacters(bytes.subarray(end)))} more characters]`;
}

/** Like `cutEnd`, but keeps both ends: a traceback's innermost frames and exception come last. */
export function cutMiddle(text: string, maxBytes: number): string {
  if (text.length * 3 <= maxBytes) return text;
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= maxBytes) return text;
  const room = maxBytes - MARKER_ROOM;
  const headEnd = prefixEnd(bytes, Math.floor(room / 4));
  const tailStart = suffixStart(bytes, room - headEnd);
  const removed = countCharacters(bytes.subarray(headEnd, tailStart));
  return `${bytes.toString('utf8', 0, headEnd)}\n… [cut: ${counted(removed)} characters] …\n${bytes.toString('utf8', tailStart)}`;
}
