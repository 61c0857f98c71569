import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type SnakepitPool } from '../lib/index.js';
import { FIXTURES, isAlive, rejectionOf, startTestPool } from './support/pools.js';

describe('errors, each leaving the pool serving', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1, maxMessageBytes: 1024 * 1024 }));
  });
  afterAll(() => pool.close());

  async function expectPoolServes(): Promise<void> {
    await expect(lastValueFrom(pool.stream('count', { n: 2 }).pipe(toArray()))).resolves.toHaveLength(3);
  }

  it('tool_not_found, for streams and unary calls', async () => {
    const streamed = await rejectionOf(lastValueFrom(pool.stream('no_such_tool')));
    expect(streamed).toMatchObject({ code: 'tool_not_found', tool: 'no_such_tool' });
    expect(streamed.hint).toContain('count');
    expect(await rejectionOf(pool.execute('no_such_tool'))).toMatchObject({ code: 'tool_not_found' });
    await expectPoolServes();
  });

  it('not_streaming, with a hint, for a streaming call to a unary tool', async () => {
    const error = await rejectionOf(lastValueFrom(pool.stream('add', { a: 1, b: 2 })));
    expect(error.code).toBe('not_streaming');
    expect(error.hint).toMatch(/execute\(\)/);
    await expectPoolServes();
  });

  it('not_unary for a unary call to a streaming tool', async () => {
    expect(await rejectionOf(pool.execute('count', { n: 1 }))).toMatchObject({ code: 'not_unary' });
    await expectPoolServes();
  });

  it.each([
    ['a BigInt', { a: 1n, b: 2 }, /arguments\.a is a BigInt/],
    ['a function', { a: () => 1, b: 2 }, /arguments\.a is a function/],
    ['NaN', { a: Number.NaN, b: 2 }, /arguments\.a is NaN/],
    ['a Map', { a: new Map(), b: 2 }, /arguments\.a is a Map/],
    ['an undefined array item', { a: [undefined], b: 2 }, /arguments\.a\[0\] is undefined/],
    [
      'an empty slot of a sparse array',
      { a: Object.assign(new Array<number>(3), { 0: 1, 2: 3 }), b: 2 },
      /arguments\.a\[1\] is an empty slot of a sparse array, which JSON would encode as null/,
    ],
    ['an invalid Date', { a: new Date(Number.NaN), b: 2 }, /arguments\.a is an invalid Date, which JSON would encode as null/],
    ['NaN that a toJSON returns', { a: { toJSON: () => ({ n: Number.NaN }) }, b: 2 }, /arguments\.a\.n is NaN/],
    [
      'an integer beyond 2^53 that a toJSON returns',
      { a: { toJSON: () => 2 ** 60 }, b: 2 },
      /arguments\.a is 1152921504606847000, an integer beyond/,
    ],
    ['a function that a toJSON returns inside an object', { a: { toJSON: () => ({ f: () => 1 }) }, b: 2 }, /arguments\.a\.f is a function/],
    ['a Map that a toJSON returns', { a: { toJSON: () => new Map() }, b: 2 }, /arguments\.a is a Map/],
    ['a Promise', { a: Promise.resolve(1), b: 2 }, /arguments\.a is a Promise, which JSON would encode as \{\}; await it first/],
    ['a RegExp', { a: /x/, b: 2 }, /arguments\.a is a RegExp, which JSON would encode as \{\}/],
    ['an Error', { a: new Error('x'), b: 2 }, /arguments\.a is an Error, which JSON would encode as \{\}/],
    [
      'a Buffer that a toJSON returns',
      { a: { toJSON: () => Buffer.from('ab') }, b: 2 },
      /arguments\.a is a Buffer, which JSON would encode as \{"type": "Buffer", \.\.\.\}/,
    ],
    ['a boxed NaN', { a: Object(Number.NaN) as unknown, b: 2 }, /arguments\.a is NaN/],
  ])('invalid_arguments for %s, before anything is sent', async (_, args, message) => {
    const error = await rejectionOf(pool.execute('add', args));
    expect(error.code).toBe('invalid_arguments');
    expect(error.message).toMatch(message);
    await expectPoolServes();
  });

  it('invalid_arguments for a cycle', async () => {
    const cyclic: Record<string, unknown> = { b: 2 };
    cyclic['a'] = cyclic;
    expect((await rejectionOf(pool.execute('add', cyclic))).message).toMatch(/arguments\.a refers back to itself/);
  });

  it('invalid_arguments for arguments that are not an object', async () => {
    const error = await rejectionOf(pool.execute('add', [1, 2] as unknown as Record<string, unknown>));
    expect(error).toMatchObject({ code: 'invalid_arguments', message: expect.stringContaining('an array') });
  });

  it('invalid_arguments for wrong and missing keywords, from the Python signature', async () => {
    const wrong = await rejectionOf(pool.execute('add', { a: 1, b: 2, c: 3 }));
    expect(wrong).toMatchObject({ code: 'invalid_arguments', message: "add(): unexpected argument 'c'", hint: 'parameters: a, b' });
    const missing = await rejectionOf(lastValueFrom(pool.stream('count', {})));
    expect(missing).toMatchObject({ code: 'invalid_arguments', message: "count(): missing required argument 'n' (int)" });
    await expectPoolServes();
  });

  it('python_error with the exception type, message and traceback', async () => {
    const error = await rejectionOf(pool.execute('raise_value_error', { message: 'bad input' }));
    expect(error).toMatchObject({ code: 'python_error', message: 'bad input', pythonType: 'ValueError' });
    expect(error.pythonTraceback).toMatch(/Traceback[\s\S]*raise ValueError\(message\)[\s\S]*ValueError: bad input/);
    await expectPoolServes();
  });

  it('serialization_error naming the type that cannot be encoded, after the chunks before it', async () => {
    const received: unknown[] = [];
    const error = await rejectionOf(pool.executeStream('unencodable', {}, (chunk) => received.push(chunk.data)));
    expect(received).toEqual([{ ok: true }]);
    expect(error.code).toBe('serialization_error');
    expect(error.message).toMatch(/^chunk\[1\]\["lock"\] is a value of type lock, which JSON cannot carry/);
    await expectPoolServes();
  });

  it('chunk_too_large for a chunk over the message limit', async () => {
    const error = await rejectionOf(lastValueFrom(pool.stream('chunk_of', { size: 2 * 1024 * 1024 })));
    expect(error.code).toBe('chunk_too_large');
    expect(error.message).toMatch(/over the \d+-byte message limit/);
    await expectPoolServes();
  });
});

describe('a tool that tries to end its worker', () => {
  let pool: SnakepitPool;

  beforeAll(async () => {
    ({ pool } = await startTestPool({ size: 1 }));
  });
  afterAll(() => pool.close());

  const CASES = [
    ['sys.exit(0)', { how: 'exit', code: 0 }, 'SystemExit', 'the tool called sys.exit(0)'],
    ['sys.exit(3)', { how: 'exit', code: 3 }, 'SystemExit', 'the tool called sys.exit(3)'],
    ["sys.exit('bye')", { how: 'exit', code: 'bye' }, 'SystemExit', "the tool called sys.exit('bye')"],
    ['sys.exit()', { how: 'exit', code: 'none' }, 'SystemExit', 'the tool called sys.exit()'],
    ['KeyboardInterrupt', { how: 'interrupt' }, 'KeyboardInterrupt', 'the tool raised KeyboardInterrupt'],
  ] as const;

  it.each(
    CASES.flatMap(([label, args, type, message]) =>
      ['', 'async_'].map((prefix) => [label, prefix === '' ? 'sync' : 'async', prefix, args, type, message] as const),
    ),
  )('%s in a %s unary tool is a python_error that says so; the worker serves on', async (_, __, prefix, args, pythonType, message) => {
    const error = await rejectionOf(pool.execute(`${prefix}leave`, args, { timeout: 10_000 }));
    expect(error).toMatchObject({ code: 'python_error', pythonType, message });
    expect(error.hint).toMatch(/raise an exception/);
    await expect(pool.execute('async_echo', { value: 'still serving' })).resolves.toBe('still serving');
    expect(pool.stats().restarts).toBe(0);
  });

  it.each(
    CASES.flatMap(([label, args, type, message]) =>
      ['', 'async_'].map((prefix) => [label, prefix === '' ? 'sync' : 'async', prefix, args, type, message] as const),
    ),
  )(
    '%s in a %s streaming tool is a python_error after its chunks; the worker serves on',
    async (_, __, prefix, args, pythonType, message) => {
      const received: unknown[] = [];
      const error = await rejectionOf(
        pool.executeStream(`${prefix}leave_after`, { n: 2, ...args }, (chunk) => received.push(chunk.data), { timeout: 10_000 }),
      );
      expect(received).toEqual([{ seq: 0 }, { seq: 1 }]);
      expect(error).toMatchObject({ code: 'python_error', pythonType, message });
      await expect(lastValueFrom(pool.stream('async_count', { n: 2 }).pipe(toArray()))).resolves.toHaveLength(3);
      expect(pool.stats().restarts).toBe(0);
    },
  );
});

describe('worker_crashed', () => {
  it('fails the stream of a worker killed mid-stream, names the worker, and the pool replaces it', async () => {
    const { pool } = await startTestPool({ size: 1 });
    try {
      const error = await rejectionOf(
        pool.executeStream<{ pid?: number }>('pid_then_wait', {}, (chunk) => {
          if (chunk.data?.pid) process.kill(chunk.data.pid, 'SIGKILL');
        }),
      );
      expect(error.code).toBe('worker_crashed');
      expect(error.workerId).toBe('worker-1');
      expect(error.message).toContain('worker-1');
      await expect(pool.execute('add', { a: 1, b: 1 })).resolves.toBe(2);
    } finally {
      await pool.close();
    }
  });
});

describe('pool_closed', () => {
  it('fails running and queued calls, refuses later ones, and stops every worker; close() is safe to call twice', async () => {
    const { pool } = await startTestPool({ size: 1 });
    const { pid } = await pool.execute<{ pid: number }>('whoami');
    let markStarted!: () => void;
    const started = new Promise<void>((resolve) => (markStarted = resolve));
    const running = rejectionOf(pool.executeStream('pid_then_wait', {}, () => markStarted()));
    await started;
    const queued = rejectionOf(pool.execute('add', { a: 1, b: 1 }));
    await Promise.all([pool.close(), pool.close()]);
    expect(isAlive(pid)).toBe(false);
    // The call each belongs to: its tool, and the worker of the one that had one.
    expect(await running).toMatchObject({ code: 'pool_closed', tool: 'pid_then_wait', workerId: expect.any(String) });
    expect(await queued).toMatchObject({ code: 'pool_closed', tool: 'add', workerId: undefined });
    expect((await rejectionOf(pool.execute('add', { a: 1, b: 1 }))).code).toBe('pool_closed');
    expect((await rejectionOf(lastValueFrom(pool.stream('count', { n: 1 })))).code).toBe('pool_closed');
  });
});

describe('worker_start_failed, never a hang', () => {
  it.each([
    ['a module that does not exist', 'no_such_module.Adapter', /No module named 'no_such_module'/],
    ['a module that raises at import', 'broken_adapter.Adapter', /RuntimeError: this adapter refuses to load/],
    ['a malformed adapter path', 'not a path', /module\.Class/],
    ['a class that does not exist', 'test_adapter.NoSuchClass', /has no attribute 'NoSuchClass'/],
  ])("for %s, with Python's own message", async (_, adapter, message) => {
    const error = await rejectionOf(createPool({ adapter, size: 2, pythonPath: FIXTURES, onLog: () => undefined }));
    expect(error.code).toBe('worker_start_failed');
    expect(error.message).toMatch(message);
  });

  it('for a missing interpreter', async () => {
    const error = await rejectionOf(createPool({ adapter: 'test_adapter.TestAdapter', python: '/nonexistent/python3', size: 1 }));
    expect(error.code).toBe('worker_start_failed');
    expect(error.message).toMatch(/\/nonexistent\/python3.*ENOENT/);
  });

  it('for a worker that does not become ready in time (the leak check sees it killed)', async () => {
    const error = await rejectionOf(
      createPool({ adapter: 'test_adapter.TestAdapter', pythonPath: FIXTURES, size: 1, startTimeout: 1, onLog: () => undefined }),
    );
    expect(error.code).toBe('worker_start_failed');
    expect(error.message).toMatch(/did not report ready within 1 ms/);
  });
});
