/** Sorted copy; the inputs are raw samples that results.json keeps in measurement order. */
function sorted(values: readonly number[]): number[] {
  return values.filter((value) => Number.isFinite(value)).sort((a, b) => a - b);
}

/** Linear interpolation between closest ranks; NaN for no samples. */
export function percentile(values: readonly number[], p: number): number {
  const ordered = sorted(values);
  if (ordered.length === 0) return Number.NaN;
  const rank = (p / 100) * (ordered.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  const lowValue = ordered[low]!;
  return lowValue + (ordered[high]! - lowValue) * (rank - low);
}

export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

export interface Distribution {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

export function distribution(values: readonly number[]): Distribution {
  const ordered = sorted(values);
  return {
    count: ordered.length,
    p50: percentile(ordered, 50),
    p99: percentile(ordered, 99),
    min: ordered[0] ?? Number.NaN,
    max: ordered[ordered.length - 1] ?? Number.NaN,
  };
}
