/**
 * Reading a binary argument's base64 text in the HTTP handler: by Buffer where
 * it reads the text as atob does (lib/http/read-base64.ts), against the
 * browser client's decoder (atob and a loop, where Uint8Array.fromBase64 is
 * missing, as in Node 20), which the handler used before. Both run on the
 * server's event loop, holding up every other request while they read.
 *
 * Prints one JSON object: the milliseconds of every run of each path over
 * 8 MiB, in alternating rounds, after checking that both give the same bytes.
 */
import { decodeBase64 } from '../../lib/browser/wire-format.js';
import { readBase64 } from '../../lib/http/read-base64.js';

const BYTES = 8 * 1024 * 1024;
const ROUNDS = 3;
const RUNS_PER_ROUND = 5;

const bytes = new Uint8Array(BYTES);
for (let index = 0; index < BYTES; index += 1) bytes[index] = (index * 7919) & 0xff;
const text = Buffer.from(bytes).toString('base64');

const paths = { browser: decodeBase64, handler: readBase64 };
for (const decode of Object.values(paths)) {
  if (Buffer.compare(Buffer.from(decode(text)), Buffer.from(bytes)) !== 0) throw new Error(`${decode.name} read other bytes`);
}
const milliseconds: Record<string, number[]> = { browser: [], handler: [] };
// Rounds of consecutive runs of each path: alternating single runs would charge atob's garbage to Buffer's next run.
for (let round = 0; round < ROUNDS; round += 1) {
  for (const [name, decode] of Object.entries(paths)) {
    for (let run = 0; run < RUNS_PER_ROUND; run += 1) {
      const started = performance.now();
      decode(text);
      milliseconds[name]!.push(performance.now() - started);
    }
  }
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(
  JSON.stringify({
    bytes: BYTES,
    milliseconds,
    median: { browser: median(milliseconds['browser']!), handler: median(milliseconds['handler']!) },
    ratio: median(milliseconds['browser']!) / median(milliseconds['handler']!),
  }),
);
