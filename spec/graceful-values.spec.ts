import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chunkData, type SnakepitPool } from '../lib/index.js';
import { rejectionOf, startTestPool } from './support/pools.js';

// Issue #13, graceful results as Snakepit gives them: values JSON has no form for arrive in the form
// Snakepit gives them (spec/fixtures/test_adapter.py's _graceful), as results and as chunks.

const GRACEFUL: readonly (readonly [string, unknown])[] = [
  ['datetime', '2024-01-02T03:04:05.678901+00:00'],
  ['naive_datetime', '2024-01-02T03:04:05'],
  ['date', '2024-01-02'],
  ['time', '10:30:15'],
  ['decimal', '12345678901234567890.10'],
  ['uuid', '00000000-0000-0000-0000-0000000000ff'],
  ['set', ['only']],
  ['tuple', [1, 'b', [2, 3]]],
  ['namedtuple', [1, 2]],
  ['dataclass', { x: 1.5, y: { x: -0, y: 'y' } }],
  ['model', { name: 'Ada', when: '1815-12-10', tags: ['math'] }],
  ['enums', ['red', 3]],
  ['numpy_scalars', [7, 0.5, true, 65535, -0]],
];

const REFUSED: readonly (readonly [string, RegExp])[] = [
  ['big_in_dataclass', /^\["p"\]\["x"\] is the integer 1152921504606846976, beyond ±\(2\^53-1\)/],
  ['nan_in_model_dict', /^\["p"\]\["y"\] is the float nan/],
  ['opaque', /^\["handle"\]\[1\] is a value of type lock, which JSON cannot carry/],
];

describe('graceful results', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  it.each(GRACEFUL)('%s arrives in its JSON form, as a result and as a chunk', async (kind, expected) => {
    const result = await pool.execute('graceful', { kind });
    expect(result).toEqual(expected);
    const chunks = await lastValueFrom(pool.stream('graceful_chunks', { kinds: [kind, kind] }).pipe(chunkData(), toArray()));
    expect(chunks).toEqual([expected, expected]);
  });

  it('-0.0 keeps its sign inside a dataclass', async () => {
    const result = await pool.execute<{ y: { x: number } }>('graceful', { kind: 'dataclass' });
    expect(Object.is(result.y.x, -0)).toBe(true);
  });

  it.each(REFUSED)('%s is refused with serialization_error naming the type and where it was', async (kind, message) => {
    const error = await rejectionOf(pool.execute('graceful', { kind }));
    expect(error.code).toBe('serialization_error');
    expect(error.message.startsWith('result')).toBe(true);
    expect(error.message.slice('result'.length)).toMatch(message);
    const chunkError = await rejectionOf(lastValueFrom(pool.stream('graceful_chunks', { kinds: ['date', kind] })));
    expect(chunkError.message.slice('chunk[1]'.length)).toMatch(message);
    expect(chunkError.message.startsWith('chunk[1]')).toBe(true);
  });
});
