import type { Observable } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import { createHttpClient, type HttpClient } from '../lib/browser/index.js';
import type { Chunk, NdArray } from 'snakepit-rx';

/** What `npx snakepit-rx types` generates for an adapter; the browser client takes the same interface as the pool. */
interface Progress {
  step: number;
  total: number;
}
interface DemoTools {
  train: { arguments: { epochs: number; rate?: number }; streaming: true; data: Progress };
  ticks: { arguments: Record<string, never>; streaming: true; data: number };
  add: { arguments: { a: number; b?: number }; streaming: false; result: number };
  matrix: { arguments: Record<string, never>; streaming: false; result: NdArray<Float64Array> };
}

declare const client: HttpClient<DemoTools>;
declare const untyped: HttpClient;

describe('a browser client typed with the generated interface', () => {
  it('createHttpClient<Tools> gives a typed client', () => {
    expectTypeOf(createHttpClient<DemoTools>({ baseUrl: '/snakepit' })).toEqualTypeOf<HttpClient<DemoTools>>();
  });

  it("gives chunks the data type the tool yields, and execute the tool's result type", () => {
    expectTypeOf(client.stream('train', { epochs: 3 })).toEqualTypeOf<Observable<Chunk<Progress>>>();
    expectTypeOf(client.stream('ticks')).toEqualTypeOf<Observable<Chunk<number>>>();
    expectTypeOf(client.execute('add', { a: 1 })).toEqualTypeOf<Promise<number>>();
    expectTypeOf(client.execute('matrix', {}, { timeout: 1_000 })).toEqualTypeOf<Promise<NdArray<Float64Array>>>();
    void client.executeStream('train', { epochs: 1 }, (chunk) => {
      expectTypeOf(chunk.data).toEqualTypeOf<Progress>();
    });
  });

  it('refuses an unknown tool, the wrong kind of call, and wrong or missing arguments', () => {
    // @ts-expect-error: no tool 'trian'
    client.stream('trian', { epochs: 3 });
    // @ts-expect-error: 'train' streams: execute cannot call it
    void client.execute('train', { epochs: 3 });
    // @ts-expect-error: 'add' is unary: stream cannot call it
    client.stream('add', { a: 1 });
    // @ts-expect-error: epochs is a number
    client.stream('train', { epochs: '3' });
    // @ts-expect-error: epochs is required
    client.stream('train', {});
    // @ts-expect-error: no argument 'c'
    void client.execute('add', { a: 1, c: 2 });
  });

  it('stays as before without the type parameter: any name, JSON arguments, declared data', () => {
    expectTypeOf(untyped.stream<{ step: number }>('anything', { n: 1 })).toEqualTypeOf<Observable<Chunk<{ step: number }>>>();
    expectTypeOf(untyped.execute<string>('other')).toEqualTypeOf<Promise<string>>();
  });
});
