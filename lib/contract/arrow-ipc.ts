import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { RecordBatch, Table } from 'apache-arrow';
import { SnakepitError } from '../errors.js';

/** What this module uses of apache-arrow. */
interface ArrowModule {
  tableFromIPC(bytes: Uint8Array): Table;
  tableToIPC(table: Table, type: 'stream'): Uint8Array;
  Table: new (batch: RecordBatch) => Table;
}

let arrow: ArrowModule | undefined;

/**
 * apache-arrow, loaded the first time an Arrow value arrives: it is an
 * optional peer dependency, and loading it takes 100-300 ms, which
 * applications that never receive Arrow data should not pay.
 *
 * Synchronously, because chunks are decoded synchronously, in order; and its
 * ES module, required by path (Node ≥ 20.19 requires ES modules), not the
 * CommonJS build that `require('apache-arrow')` would give: the application
 * imports the ES module, and a `Table` of the other build would fail its
 * `instanceof Table` (and apache-arrow's own, when tables are combined).
 */
function loadArrow(): ArrowModule {
  if (arrow !== undefined) return arrow;
  try {
    const require = createRequire(import.meta.url);
    arrow = require(join(dirname(require.resolve('apache-arrow')), 'Arrow.node.mjs')) as ArrowModule;
  } catch (error) {
    throw new SnakepitError(
      'serialization_error',
      'the tool sent Arrow data (a dataframe or record batch), which needs the apache-arrow package',
      {
        hint: 'npm install apache-arrow',
        cause: error,
      },
    );
  }
  return arrow;
}

/**
 * An Arrow IPC stream as an apache-arrow `Table` (or, with `batch`, its one
 * `RecordBatch`), its buffers viewed in place when the stream is 8-byte
 * aligned, as the worker places it where it can. A stream that is not (after
 * another chunk in its message, or relayed by a bridge server) is copied
 * first: apache-arrow copies such buffers itself, but fails on some of them
 * (a union column's type ids and offsets).
 */
export function readArrow(bytes: Uint8Array, batch: boolean): Table | RecordBatch {
  const table = loadArrow().tableFromIPC(bytes.byteOffset % 8 === 0 ? bytes : bytes.slice());
  if (!batch) return table;
  const [first] = table.batches;
  if (table.batches.length !== 1 || first === undefined) {
    throw new TypeError(`an Arrow record batch arrived as a stream of ${table.batches.length} batches`);
  }
  return first;
}

/** An apache-arrow `Table`, told by its shape (the application's copy of apache-arrow may not be ours). */
export function isArrowTable(value: object): value is Table {
  const table = value as Partial<Record<'batches' | 'schema' | 'getChild', unknown>>;
  return Array.isArray(table.batches) && typeof table.schema === 'object' && typeof table.getChild === 'function';
}

/** An apache-arrow `RecordBatch`, told by its shape. */
export function isArrowRecordBatch(value: object): value is RecordBatch {
  const batch = value as Partial<Record<'batches' | 'schema' | 'data' | 'getChild', unknown>>;
  return (
    !('batches' in batch) && typeof batch.schema === 'object' && typeof batch.data === 'object' && typeof batch.getChild === 'function'
  );
}

/** A table or record batch as an Arrow IPC stream. */
export function writeArrow(value: Table | RecordBatch): Uint8Array {
  const arrow = loadArrow();
  return arrow.tableToIPC(isArrowTable(value) ? value : new arrow.Table(value), 'stream');
}
