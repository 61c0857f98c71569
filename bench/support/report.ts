import type { Row, WorkloadResult } from './context.js';
import type { Distribution } from './stats.js';

export function formatNumber(value: number | undefined, unit: string): string {
  if (value === undefined) return '';
  if (!Number.isFinite(value)) return 'n/a';
  if (unit === 'ms') return value < 10 ? value.toFixed(2) : value.toFixed(1);
  if (unit === 'MiB') return value.toFixed(1);
  return Math.round(value).toLocaleString('en-US');
}

export function formatRatio(value: number, against: string): string {
  if (!Number.isFinite(value)) return `n/a ${against}`;
  return `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}× ${against}`;
}

interface LatencyPath {
  readonly path: string;
  readonly ms: Distribution;
  readonly note?: string | undefined;
}

/** The two rows of a latency workload: the baseline's figures, then the library's against them (`against` names the baseline) and its target, if it has one. */
export function latencyRows(
  workload: string,
  baseline: LatencyPath,
  library: LatencyPath,
  target: { text: string; pass: boolean } | undefined,
  against = 'a',
): Row[] {
  const row = ({ path, ms, note }: LatencyPath): Row => ({
    workload,
    path,
    unit: 'ms',
    median: ms.p50,
    p99: ms.p99,
    ...(note === undefined ? {} : { note }),
  });
  return [
    row(baseline),
    {
      ...row(library),
      ratio: formatRatio(library.ms.p50 / baseline.ms.p50, against),
      ...(target === undefined ? {} : { target: target.text, pass: target.pass }),
    },
  ];
}

function resultCell(row: Row): string {
  if (row.pass === undefined) return '';
  return row.pass ? 'pass' : 'MISS';
}

/** The results as a plain-text table, one row per path and workload. */
export function renderTable(results: readonly WorkloadResult[]): string {
  const header = ['Workload', 'Path', 'Median', 'p99', 'Unit', 'Ratio', 'Target', 'Result'];
  const lines: string[][] = [];
  for (const result of results) {
    if (result.error !== undefined) {
      lines.push([result.name, 'FAILED', '', '', '', '', '', result.error.split('\n')[0]!.slice(0, 80)]);
    }
    for (const row of result.rows) {
      lines.push([
        row.workload,
        row.path,
        formatNumber(row.median, row.unit),
        formatNumber(row.p99, row.unit),
        row.unit,
        row.ratio ?? '',
        row.target ?? '',
        resultCell(row) + (row.note ? ` ${row.note}` : ''),
      ]);
    }
  }
  const widths = header.map((title, column) => Math.max(title.length, ...lines.map((line) => line[column]!.length)));
  const numeric = new Set([2, 3]);
  const render = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (numeric.has(column) ? cell.padStart(widths[column]!) : cell.padEnd(widths[column]!)))
      .join('  ')
      .trimEnd();
  return [render(header), widths.map((width) => '-'.repeat(width)).join('  '), ...lines.map(render)].join('\n');
}
