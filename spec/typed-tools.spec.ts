/**
 * Calls checked against the Python signature by a real worker: what is
 * refused with `invalid_arguments` (and how the message reads), what is
 * converted, and the schemas `pool.tools()` carries.
 */
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type SnakepitPool, type ToolArguments } from '../lib/index.js';
import { FIXTURES, rejectionOf } from './support/pools.js';

let pool: SnakepitPool;

beforeAll(async () => {
  pool = await createPool({ adapter: 'typed_adapter.TypedAdapter', size: 1, pythonPath: FIXTURES });
});
afterAll(() => pool.close());

function tool(name: string) {
  const found = pool.tools().find((info) => info.name === name);
  if (found === undefined) throw new Error(`no tool ${name}`);
  return found;
}

describe('pool.tools()', () => {
  it("carries each tool's parameter and result schemas, parsed", () => {
    expect(tool('add').parametersSchema).toEqual({
      title: 'AddArguments',
      type: 'object',
      properties: { a: { type: 'integer' }, b: { type: 'integer', default: 2 } },
      required: ['a'],
      additionalProperties: false,
    });
    expect(tool('add').resultSchema).toEqual({ type: 'integer' });
    expect(tool('train').resultSchema).toMatchObject({
      $ref: '#/$defs/Progress',
      $defs: { Progress: { type: 'object', required: ['epoch', 'loss'], description: 'How far training got.' } },
    });
    expect(tool('blob').resultSchema).toEqual({ type: 'string', format: 'binary', 'x-snakepit-type': 'bytes' });
    expect(tool('add').parameters).toEqual([
      { name: 'a', type: 'int', required: true },
      { name: 'b', type: 'int', required: false, default: 2 },
    ]);
  });
});

describe('invalid_arguments, checked by the worker against the annotations', () => {
  const cases: [string, string, ToolArguments, string][] = [
    ['a string where an int is expected', 'add', { a: '1' }, `add(): argument 'a' should be a valid integer, got "1"`],
    ['a fraction where an int is expected', 'add', { a: 1.5 }, "add(): argument 'a' should be a valid integer, got 1.5"],
    ['a missing required argument', 'add', { b: 1 }, "add(): missing required argument 'a' (int)"],
    ['an unknown keyword', 'add', { a: 1, c: 2 }, "add(): unexpected argument 'c'"],
    [
      'a wrong value deep inside',
      'centroid',
      {
        points: [
          { x: 1, y: 2 },
          { x: 'left', y: 0 },
        ],
      },
      `centroid(): argument 'points[1].x' should be a valid number, got "left"`,
    ],
    [
      'a value outside a Literal',
      'describe',
      { when: '2024-01-01', pair: [1, 2], point: { x: 0, y: 0 }, mode: 'c' },
      "argument 'mode' should be 'a' or 'b', got \"c\"",
    ],
  ];

  it.each(cases)('%s', async (_, name, args, message) => {
    const error = await rejectionOf(pool.execute(name, args));
    expect(error.code).toBe('invalid_arguments');
    expect(error.message).toContain(message);
    expect(error.hint).toMatch(/^parameters: /);
  });

  it('refuses a streaming call before the generator runs, and the pool keeps serving', async () => {
    const error = await rejectionOf(lastValueFrom(pool.stream('train', { epochs: '2' })));
    expect(error).toMatchObject({ code: 'invalid_arguments', message: `train(): argument 'epochs' should be a valid integer, got "2"` });
    const chunks = await lastValueFrom(pool.stream('train', { epochs: 2 }).pipe(toArray()));
    expect(chunks.map((chunk) => chunk.data)).toEqual([
      { epoch: 1, loss: 0.1 },
      { epoch: 2, loss: 0.05 },
    ]);
  });
});

describe('conversions where JSON cannot say the type', () => {
  it('an ISO string becomes a datetime, a list a tuple, an object a dataclass', async () => {
    await expect(pool.execute('describe', { when: '2024-01-02T03:04:05Z', pair: [1, 2], point: { x: 1, y: 2 } })).resolves.toBe(
      'datetime tuple Point a',
    );
  });

  it('an int where a float is expected is taken; a dataclass result comes back as an object', async () => {
    await expect(
      pool.execute('centroid', {
        points: [
          { x: 0, y: 0 },
          { x: 2, y: 4 },
        ],
      }),
    ).resolves.toEqual({ x: 1, y: 2 });
  });
});
