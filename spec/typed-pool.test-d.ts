import type { Observable } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import {
  createBridgeServer,
  createPool,
  type Chunk,
  type NdArray,
  type SnakepitPool,
  type StreamingToolName,
  type ToolsShape,
  type UnaryToolName,
} from 'snakepit-rx';

/** What `npx snakepit-rx types` generates for an adapter (see spec/cli-types.spec.ts for the real thing). */
interface Progress {
  step: number;
  total: number;
  note?: string;
}
interface TrainArguments {
  epochs: number;
  rate?: number;
}
interface AddArguments {
  a: number;
  b?: number;
}
interface OptionsArguments {
  verbose?: boolean;
  [k: string]: unknown;
}
interface DemoTools {
  train: { arguments: TrainArguments; streaming: true; data: Progress };
  ticks: { arguments: Record<string, never>; streaming: true; data: number };
  add: { arguments: AddArguments; streaming: false; result: number };
  matrix: { arguments: Record<string, never>; streaming: false; result: NdArray<Float64Array> };
  configure: { arguments: OptionsArguments; streaming: false; result: null };
}

declare const pool: SnakepitPool<DemoTools>;
declare const untyped: SnakepitPool;

describe('a pool typed with the generated interface', () => {
  it('createPool<Tools> gives a typed pool', () => {
    expectTypeOf(createPool<DemoTools>({ adapter: 'demo.Demo' })).resolves.toEqualTypeOf<SnakepitPool<DemoTools>>();
  });

  it('the generated interface fits ToolsShape, and the tool names split into streaming and unary', () => {
    expectTypeOf<DemoTools>().toExtend<ToolsShape<DemoTools>>();
    expectTypeOf<StreamingToolName<DemoTools>>().toEqualTypeOf<'train' | 'ticks'>();
    expectTypeOf<UnaryToolName<DemoTools>>().toEqualTypeOf<'add' | 'matrix' | 'configure'>();
  });

  it("gives chunks the data type the tool yields, and execute the tool's result type", () => {
    expectTypeOf(pool.stream('train', { epochs: 3 })).toEqualTypeOf<Observable<Chunk<Progress>>>();
    expectTypeOf(pool.iterate('ticks')).toEqualTypeOf<AsyncIterableIterator<Chunk<number>>>();
    expectTypeOf(pool.execute('add', { a: 1 })).toEqualTypeOf<Promise<number>>();
    expectTypeOf(pool.execute('matrix')).toEqualTypeOf<Promise<NdArray<Float64Array>>>();
    void pool.executeStream('train', { epochs: 1, rate: 0.1 }, (chunk) => {
      expectTypeOf(chunk.data).toEqualTypeOf<Progress>();
    });
  });

  it('lets a tool that requires no argument be called without arguments, and with options', () => {
    pool.stream('ticks');
    pool.stream('ticks', {}, { timeout: 1_000 });
    void pool.executeStream('ticks', undefined, () => undefined);
    void pool.execute('configure', { verbose: true, anything: 'else' });
  });

  it('refuses a tool the adapter does not have', () => {
    // @ts-expect-error: no tool 'trian'
    pool.stream('trian', { epochs: 3 });
    // @ts-expect-error: no tool 'sum'
    void pool.execute('sum', { a: 1 });
    // @ts-expect-error: no tool 'tick'
    pool.iterate('tick');
    // @ts-expect-error: no tool 'trian'
    void pool.executeStream('trian', { epochs: 3 }, () => undefined);
  });

  it('refuses the wrong kind of call', () => {
    // @ts-expect-error: train streams; execute is for unary tools
    void pool.execute('train', { epochs: 3 });
    // @ts-expect-error: add is unary; stream is for streaming tools
    pool.stream('add', { a: 1 });
    // @ts-expect-error: add is unary
    pool.iterate('add', { a: 1 });
    // @ts-expect-error: add is unary
    void pool.executeStream('add', { a: 1 }, () => undefined);
  });

  it('refuses wrong, missing and unknown arguments', () => {
    // @ts-expect-error: epochs is a number
    pool.stream('train', { epochs: '3' });
    // @ts-expect-error: epochs is required
    pool.stream('train', {});
    // @ts-expect-error: the arguments are required when a parameter is
    pool.stream('train');
    // @ts-expect-error: no parameter 'epoch'
    pool.stream('train', { epoch: 3 });
    // @ts-expect-error: b is a number
    void pool.execute('add', { a: 1, b: null });
    // @ts-expect-error: a is required
    void pool.executeStream('train', undefined, () => undefined);
  });

  it("refuses a callback that expects other data than the tool's", () => {
    // @ts-expect-error: the chunks carry Progress, not strings
    void pool.executeStream('train', { epochs: 1 }, (chunk: Chunk<string>) => chunk.data.length);
  });

  it('can be served by the bridge server', () => {
    expectTypeOf(createBridgeServer(pool)).toBeObject();
  });
});

describe('a pool without a type parameter', () => {
  it('takes any tool name and JSON object, and the caller declares the data, as before', () => {
    expectTypeOf(untyped.stream<{ step: number }>('anything', { any: 'thing' })).toEqualTypeOf<Observable<Chunk<{ step: number }>>>();
    expectTypeOf(untyped.stream('anything')).toEqualTypeOf<Observable<Chunk<unknown>>>();
    expectTypeOf(untyped.execute<number>('add', { a: 1 })).toEqualTypeOf<Promise<number>>();
    expectTypeOf(untyped.iterate<string>('lines')).toEqualTypeOf<AsyncIterableIterator<Chunk<string>>>();
    void untyped.executeStream<number>('ticks', undefined, (chunk) => expectTypeOf(chunk.data).toEqualTypeOf<number>());
    const tool: string = 'computed';
    void untyped.execute(tool, { a: 1 }, { timeout: 5 });
  });

  it('still refuses arguments that are not an object', () => {
    // @ts-expect-error: keyword arguments are an object
    untyped.stream('anything', [1, 2]);
    // @ts-expect-error: keyword arguments are an object
    void untyped.execute('anything', 'a=1');
  });
});
