import { RecordBatch, Table, type Vector } from 'apache-arrow';
import { firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toArrowTable } from 'snakepit-rx/arrow';
import { createHttpClient } from '../lib/browser/index.js';
import { chunkData, createBridgeServer, createPool, type SnakepitPool } from '../lib/index.js';
import { startTestPool } from './support/pools.js';
import { poolBehindHttpHandler } from './support/served-pools.js';

// Issue #12: dataframes and Arrow data travel as Arrow IPC and arrive as apache-arrow Tables and
// RecordBatches, read in place, every type claimed exactly (spec/fixtures/test_adapter.py's _arrow_table).

/** A column's values; raw stored integers for timestamps, whose `get` gives rounded milliseconds. */
function column(table: Table | RecordBatch, name: string): unknown[] {
  const vector: Vector | null = table.getChild(name);
  if (vector === null) throw new Error(`no column ${name}`);
  if (String(vector.type).startsWith('Timestamp')) {
    return vector.data.flatMap((data) => [...(data.values as BigInt64Array)].map((raw, index) => (data.getValid(index) ? raw : null)));
  }
  return [...vector].map((value: unknown) => (typeof value === 'object' && value !== null && 'toArray' in value ? toPlain(value) : value));
}

function toPlain(value: unknown): unknown {
  if (typeof value === 'object' && value !== null && 'toArray' in value) return [...(value as unknown as Iterable<unknown>)].map(toPlain);
  return value;
}

/** What each column of _arrow_table holds, as apache-arrow reads it, and its type. */
const EXPECTED: Readonly<Record<string, readonly [string, unknown[]]>> = {
  i8: ['Int8', [1, -2, null]],
  i64: ['Int64', [2n ** 60n, -(2n ** 63n), null]],
  u64: ['Uint64', [2n ** 64n - 1n, 0n, 1n]],
  f32: ['Float32', [0.5, -0, null]],
  f64: ['Float64', [1e300, NaN, -0]],
  bool: ['Bool', [true, null, false]],
  str: ['Utf8', ['é✓', null, '']],
  large_str: ['LargeUtf8', ['a', 'b', null]],
  ts_us: ['Timestamp<MICROSECOND>', [1704164645678901n, null, -315619200000000n]],
  ts_ns_utc: ['Timestamp<NANOSECOND, UTC>', [1700000000123456789n, null, -1n]],
  dict: ['Dictionary<Int32, Utf8>', ['x', 'y', 'x']],
  list: ['List<Int64>', [[1n, 2n], [], null]],
  nested: ['List<List<Utf8>>', [[['a']], [[], ['b', 'c']], null]],
  null: ['Null', [null, null, null]],
};

function expectEveryType(table: Table | RecordBatch): void {
  expect(table.numRows).toBe(3);
  for (const [name, [type, values]] of Object.entries(EXPECTED)) {
    expect(String(table.schema.fields.find((field) => field.name === name)?.type), name).toBe(type);
    expect(column(table, name), name).toEqual(values);
  }
  // -0 keeps its sign; toEqual tells it from 0.
  expect(Object.is(column(table, 'f64')[2], -0)).toBe(true);
}

/** The union column's values of the tables of arrow_union's chunks: the second chunk, and the third's `table`. */
function unionValues(chunks: readonly unknown[]): unknown[][] {
  const tables = [chunks[1] as Table, (chunks[2] as { table: Table }).table];
  return tables.map((table): unknown[] => [...(table.getChild('u')! as Iterable<unknown>)]);
}

describe('Arrow data', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  it('a pyarrow Table arrives as a Table, every type exactly', async () => {
    const table = await pool.execute('arrow_value', { form: 'table' });
    expect(table).toBeInstanceOf(Table);
    expectEveryType(table as Table);
  });

  it('a pyarrow RecordBatch arrives as a RecordBatch, every type exactly', async () => {
    const batch = await pool.execute('arrow_value', { form: 'batch' });
    expect(batch).toBeInstanceOf(RecordBatch);
    expectEveryType(batch as RecordBatch);
  });

  it('Arrow data inside a structure arrives in place', async () => {
    const value = await pool.execute<{ frame: Table; rows: number; batches: RecordBatch[] }>('arrow_value', { form: 'nested' });
    expect(value.rows).toBe(3);
    expectEveryType(value.frame);
    expect(value.batches[0]).toBeInstanceOf(RecordBatch);
    expectEveryType(value.batches[0]!);
  });

  it('views the message in place: column buffers lie inside the received message, aligned', async () => {
    const table = await pool.execute<Table>('arrow_value', { form: 'table' });
    const values = table.getChild('f64')!.data[0]!.values as Float64Array;
    expect(values.byteOffset % 8).toBe(0);
    expect(values.buffer.byteLength).toBeGreaterThan(values.byteLength * 10);
  });

  it('a table whose buffers apache-arrow must find aligned (a union column) arrives after other chunks, alone or inside a value', async () => {
    const chunks = await lastValueFrom(pool.stream('arrow_union').pipe(chunkData(), toArray()));

    expect(unionValues(chunks)).toEqual([
      [1, 'b', 3],
      [1, 'b', 3],
    ]);
  });

  it('a table with a union column arrives through a bridge server too, alone and inside a value', async () => {
    const server = await createBridgeServer(pool);
    const relayed = await createPool({ adapter: 'test_adapter.TestAdapter', endpoints: [server.address] });
    try {
      const chunks = await lastValueFrom(relayed.stream('arrow_union').pipe(chunkData(), toArray()));
      expect(unionValues(chunks)).toEqual([
        [1, 'b', 3],
        [1, 'b', 3],
      ]);
    } finally {
      await relayed.close();
      await server.close();
    }
  });

  it('through a bridge server, the arrays and Arrow data inside a value are still viewed in place: aligned in the message', async () => {
    const server = await createBridgeServer(pool);
    const relayed = await createPool({ adapter: 'test_adapter.TestAdapter', endpoints: [server.address] });
    try {
      const viewed = (values: ArrayBufferView) => values.byteOffset % 8 === 0 && values.buffer.byteLength > values.byteLength * 4;
      const nested = await relayed.execute<{ frame: Table }>('arrow_value', { form: 'nested' });
      expect(viewed(nested.frame.getChild('f64')!.data[0]!.values as Float64Array)).toBe(true);
      // Eleven arrays of as many dtypes and sizes in one message: each lands aligned, whatever came before it.
      const [chunk] = await lastValueFrom(relayed.stream('nested_binaries', { kinds: ['dtypes'] }).pipe(chunkData(), toArray()));
      const arrays = Object.entries(chunk as Record<string, { data: ArrayBufferView }>);
      expect(arrays).toHaveLength(11);
      for (const [dtype, array] of arrays) expect(viewed(array.data), dtype).toBe(true);
    } finally {
      await relayed.close();
      await server.close();
    }
  });

  it('a pandas DataFrame arrives as a Table', async () => {
    const table = await pool.execute<Table>('arrow_value', { form: 'pandas' });
    expect(table).toBeInstanceOf(Table);
    expect(column(table, 'i64')).toEqual([1n, 2n ** 60n, -3n]);
    expect(column(table, 'f64')).toEqual([0.5, null, -0]);
    expect(column(table, 'bool')).toEqual([true, false, true]);
    expect(column(table, 'str')).toEqual(['a', null, 'é']);
    expect(column(table, 'ts')).toEqual([1704164645123456789n, null, 0n]);
    expect(column(table, 'cat')).toEqual(['x', 'y', 'x']);
    expect(String(table.getChild('cat')!.type)).toMatch(/^Dictionary/);
  });

  it("a pandas DataFrame's index that is not 0..n-1 arrives as a column, and a frame without columns keeps its rows", async () => {
    const slice = await pool.execute<Table>('arrow_value', { form: 'pandas_slice' });
    expect(column(slice, 'f')).toEqual([3, 4]);
    expect(column(slice, '__index_level_0__')).toEqual([2n, 3n]);
    const empty = await pool.execute<Table>('arrow_value', { form: 'pandas_no_columns' });
    expect(empty.numCols).toBe(0);
    expect(empty.numRows).toBe(3);
  });

  it('a polars DataFrame arrives as a Table', async () => {
    const table = await pool.execute<Table>('arrow_value', { form: 'polars' });
    expect(table).toBeInstanceOf(Table);
    expect(column(table, 'i64')).toEqual([1n, 2n ** 60n, null]);
    expect(column(table, 'f64')).toEqual([0.5, null, -0]);
    expect(column(table, 'str')).toEqual(['a', null, 'é']);
    expect(column(table, 'list')).toEqual([[1n], [], null]);
  });

  it('toArrowTable gathers a stream of record batches into one Table', async () => {
    const table = await firstValueFrom(pool.stream<RecordBatch>('arrow_batches', { count: 5, rows: 1000 }).pipe(toArrowTable()));
    expect(table.numRows).toBe(5000);
    expect(table.batches).toHaveLength(5);
    expect([...table.getChild('x')!]).toEqual(Array.from({ length: 5000 }, (_, index) => index));
  });
});

describe('Arrow data through the HTTP handler and the browser client', () => {
  const http = poolBehindHttpHandler();

  it('arrives as Tables and RecordBatches when the client is given tableFromIPC', async () => {
    const { tableFromIPC } = await import('apache-arrow');
    const client = createHttpClient({ baseUrl: http.baseUrl, arrow: { tableFromIPC } });
    expectEveryType(await client.execute<Table>('arrow_value', { form: 'table' }));
    const nested = await client.execute<{ frame: Table; batches: RecordBatch[] }>('arrow_value', { form: 'nested' });
    expectEveryType(nested.frame);
    expect(nested.batches[0]).toBeInstanceOf(RecordBatch);
    const batches = await lastValueFrom(client.stream<RecordBatch>('arrow_batches', { count: 3, rows: 10 }).pipe(chunkData(), toArray()));
    expect(batches.map((batch) => batch instanceof RecordBatch && batch.numRows)).toEqual([10, 10, 10]);
  });

  it('fails with serialization_error, saying what to pass, when the client has no tableFromIPC', async () => {
    const client = createHttpClient({ baseUrl: http.baseUrl });
    await expect(client.execute('arrow_value', { form: 'batch' })).rejects.toMatchObject({
      code: 'serialization_error',
      hint: expect.stringMatching(/tableFromIPC/),
    });
  });
});
