/**
 * `snakepit-rx/arrow`: RxJS operators for streams of Arrow data (dataframes
 * and record batches that Python tools yield).
 *
 * A separate entry point so that `snakepit-rx/operators` stays free of
 * apache-arrow: this one imports it (an optional peer dependency of
 * snakepit-rx), and only applications that use Arrow import this one.
 * Browser-safe: it imports `rxjs` and `apache-arrow` alone.
 */
export { toArrowTable } from './to-arrow-table.js';
