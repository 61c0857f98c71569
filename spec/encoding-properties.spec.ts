import fc from 'fast-check';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkData, type SnakepitPool } from '../lib/index.js';
import { decodeBase64 } from '../lib/browser/wire-format.js';
import { encodeArguments } from '../lib/call/tool-arguments.js';
import { readBase64 } from '../lib/http/read-base64.js';
import { stringifyJson } from '../lib/json-text.js';
import { resolvePoolOptions } from '../lib/pool/pool-options.js';
import { rejectionOf, startTestPool } from './support/pools.js';

/** Any sequence of UTF-16 code units: JavaScript strings may hold lone surrogates, which UTF-8 cannot. */
const anyUtf16 = fc
  .array(fc.oneof(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0xd800, max: 0xdfff })), { maxLength: 30 })
  .map((units) => String.fromCharCode(...units));

const { limits } = resolvePoolOptions({ adapter: 'spec.Adapter' });

/**
 * Whether the value holds a number JSON.stringify would write as an integer beyond
 * ±(2^53-1): arguments refuse those (Python would take them as exact ints). Every
 * other value must come back exactly, -0 included (toEqual tells -0 from 0).
 */
const holdsUnsafeInteger = (value: unknown): boolean =>
  typeof value === 'number'
    ? Math.abs(value) > Number.MAX_SAFE_INTEGER && Math.abs(value) < 1e21
    : typeof value === 'object' && value !== null && Object.values(value).some(holdsUnsafeInteger);

describe('encoding round trips (property-based)', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  it('any JSON argument reaches the tool and comes back exactly, or is refused before it is sent', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (value) => {
        if (holdsUnsafeInteger(value)) expect((await rejectionOf(pool.execute('echo', { value }))).code).toBe('invalid_arguments');
        else expect(await pool.execute('echo', { value })).toEqual(value);
      }),
      { numRuns: 150 },
    );
  });

  it('any list of JSON values streams back as chunks, in order, exactly', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 40 }), async (values) => {
        fc.pre(!holdsUnsafeInteger(values));
        const data = await lastValueFrom(pool.stream('echo_stream', { values }).pipe(chunkData(), toArray()));
        expect(data).toEqual(values);
      }),
      { numRuns: 100 },
    );
  });

  it('-0 and numbers beyond 2^53 written as floats come back exactly, wherever they are', async () => {
    const special = fc.oneof(
      fc.constant(-0),
      fc.double({ min: 1e21, noNaN: true, noDefaultInfinity: true }),
      fc.double({ max: -1e21, noNaN: true, noDefaultInfinity: true }),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        special,
        fc.array(tie('node'), { maxLength: 4 }),
        fc.dictionary(fc.string(), tie('node'), { maxKeys: 4 }),
      ),
    })).node;
    await fc.assert(
      fc.asyncProperty(value, async (generated) => {
        expect(await pool.execute('echo', { value: generated })).toEqual(generated);
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

  it('encodeArguments accepts exactly what JSON carries unchanged, -0 included', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (args) => {
        if (holdsUnsafeInteger(args))
          expect(() => encodeArguments(args, limits)).toThrow(expect.objectContaining({ code: 'invalid_arguments' }));
        else expect(JSON.parse(Buffer.from(encodeArguments(args, limits).json).toString('utf8'))).toEqual(args);
      }),
    );
    fc.assert(
      fc.property(fc.oneof(fc.bigInt(), fc.func(fc.anything()), fc.constant(Number.NaN), fc.constant(Infinity)), (bad) => {
        expect(() => encodeArguments({ value: bad }, limits)).toThrow(expect.objectContaining({ code: 'invalid_arguments' }));
      }),
    );
  });

  it("the bridge server's JSON writer is JSON.stringify, except that -0 and numbers beyond 2^53 stay floats", () => {
    const number = fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: true }), fc.constant(-0), fc.constant(2 ** 60));
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        number,
        fc.string(),
        fc.boolean(),
        fc.constant(null),
        fc.array(tie('node')),
        fc.dictionary(fc.string(), tie('node')),
      ),
    })).node;
    fc.assert(
      fc.property(value, (generated) => {
        const text = stringifyJson(generated);
        expect(JSON.parse(text)).toEqual(generated);
        const numbers = text.replace(/"(?:[^"\\]|\\.)*"/g, '""');
        // What a Python client reads: no integer literal beyond ±(2^53-1), and -0 as the float -0.0.
        for (const [literal] of numbers.matchAll(/(?<![\d.eE+-])-?\d{16,}(?![\d.eE])/g)) {
          expect(BigInt(literal) <= BigInt(Number.MAX_SAFE_INTEGER) && BigInt(literal) >= -BigInt(Number.MAX_SAFE_INTEGER)).toBe(true);
        }
        expect(numbers).not.toMatch(/(?<![\d.eE])-0(?![\d.eE])/);
      }),
    );
  });
});

describe("the HTTP handler's base64 reader (property-based)", () => {
  /** The outcome of a decoder: its bytes, or that it refused the text. */
  const outcome = (decode: () => Uint8Array): number[] | 'refused' => {
    try {
      return [...decode()];
    } catch {
      return 'refused';
    }
  };

  it('reads the base64 the browser client writes by Buffer, into the bytes written', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const read = readBase64(Buffer.from(bytes).toString('base64'));
        expect(Buffer.isBuffer(read)).toBe(true);
        expect([...read]).toEqual([...bytes]);
      }),
    );
  });

  it('reads any text as atob does: the same bytes, or a refusal (Buffer skips what is not base64)', () => {
    const character = fc.oneof(
      { weight: 8, arbitrary: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/') },
      { weight: 1, arbitrary: fc.constantFrom('=', '-', '_', ' ', '\n', '!', '.', 'é', '\u0000') },
    );
    fc.assert(
      fc.property(fc.array(character, { maxLength: 24 }), (characters) => {
        const text = characters.join('');
        expect(outcome(() => readBase64(text))).toEqual(outcome(() => decodeBase64(text)));
      }),
      { numRuns: 20_000 },
    );
  });
});
