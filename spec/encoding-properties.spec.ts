import fc from 'fast-check';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkData, type SnakepitPool } from '../lib/index.js';
import { encodeArguments } from '../lib/call/tool-arguments.js';
import { resolvePoolOptions } from '../lib/pool/pool-options.js';
import { startTestPool } from './support/pools.js';

/** Any sequence of UTF-16 code units: JavaScript strings may hold lone surrogates, which UTF-8 cannot. */
const anyUtf16 = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff })), { maxLength: 30 })
  .map((units) => String.fromCharCode(...units));

const { limits } = resolvePoolOptions({ adapter: 'spec.Adapter' });

/** What a value is after JSON: the round trip can at most do what JSON itself does (-0 becomes 0). */
const viaJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

describe('encoding round trips (property-based)', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  it('any JSON argument reaches the tool and comes back unchanged', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        expect(await pool.execute('echo', { value })).toEqual(viaJson(value));
      }),
      { numRuns: 150 },
    );
  });

  it('any list of JSON values streams back as chunks, in order', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 40 }), async (values) => {
        const data = await lastValueFrom(pool.stream('echo_stream', { values }).pipe(chunkData(), toArray()));
        expect(data).toEqual(viaJson(values));
      }),
      { numRuns: 100 },
    );
  });

  it('strings of any code points, lone surrogates included, survive both ways', async () => {
    await fc.assert(
      fc.asyncProperty(anyUtf16, async (text) => {
        expect(await pool.execute('echo', { value: text })).toBe(text);
        const [chunk] = await lastValueFrom(pool.stream('echo_stream', { values: [text] }).pipe(chunkData(), toArray()));
        expect(chunk).toBe(text);
      }),
      { numRuns: 150 },
    );
  });

  it('encodeArguments accepts exactly what JSON carries unchanged', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (args) => {
        expect(JSON.parse(Buffer.from(encodeArguments(args, limits)).toString('utf8'))).toEqual(viaJson(args));
      }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.bigInt(), fc.func(fc.anything()), fc.constant(Number.NaN), fc.constant(Infinity)), (bad) => {
        expect(() => encodeArguments({ value: bad }, limits)).toThrow(expect.objectContaining({ code: 'invalid_arguments' }));
      }),
    );
  });
});
