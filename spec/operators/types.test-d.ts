import { Observable, of } from 'rxjs';
import { describe, expectTypeOf, it } from 'vitest';
import {
  batchChunks,
  chunkData,
  reduceProgress,
  takeUntilFinal,
  throttleProgress,
  toChunkArray,
  type Chunk,
  type Progress,
  type ProgressReading,
} from 'snakepit-rx/operators';

type Epoch = { epoch: number; loss: number };
declare const chunks$: Observable<Chunk<Epoch>>;

describe('operator types', () => {
  it('chunkData keeps the payload type', () => {
    expectTypeOf(chunks$.pipe(chunkData())).toEqualTypeOf<Observable<Epoch>>();
  });

  it('takeUntilFinal keeps the chunk type', () => {
    expectTypeOf(chunks$.pipe(takeUntilFinal())).toEqualTypeOf<Observable<Chunk<Epoch>>>();
  });

  it('batchChunks and toChunkArray emit arrays of the chunk type', () => {
    expectTypeOf(chunks$.pipe(batchChunks({ maxCount: 10 }))).toEqualTypeOf<Observable<Chunk<Epoch>[]>>();
    expectTypeOf(chunks$.pipe(toChunkArray())).toEqualTypeOf<Observable<Chunk<Epoch>[]>>();
  });

  it('reduceProgress carries the payload type into last, and throttleProgress keeps it', () => {
    const progress$ = chunks$.pipe(reduceProgress(), throttleProgress(100));
    expectTypeOf(progress$).toEqualTypeOf<Observable<Progress<Epoch>>>();
    expectTypeOf<Progress<Epoch>['last']>().toEqualTypeOf<Epoch | undefined>();
  });

  it('reduceProgress gives select the payload and chunk types', () => {
    chunks$.pipe(
      reduceProgress({
        select: (data, chunk) => {
          expectTypeOf(data).toEqualTypeOf<Epoch>();
          expectTypeOf(chunk).toEqualTypeOf<Chunk<Epoch>>();
          const reading: ProgressReading = { current: data.epoch };
          return reading;
        },
      }),
    );
  });

  it('rejects a select that does not return a reading', () => {
    // @ts-expect-error: a reading is an object of numbers, not a string
    reduceProgress<Epoch>({ select: (data) => `${data.epoch}` });
  });

  it('rejects a payload type that the pipeline does not carry', () => {
    // @ts-expect-error: the chunks carry Epoch, not string
    chunks$.pipe(chunkData<string>());
  });

  it('does not accept a source of something else than chunks', () => {
    // @ts-expect-error: reduceProgress reads chunks, not bare payloads
    of({ epoch: 1, loss: 0 }).pipe(reduceProgress());
  });
});
