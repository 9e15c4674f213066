// Statistics for the benchmark: percentiles over raw latency samples, ratios, and
// merging the rounds of interleaved measurements. Pure functions, unit-tested.

export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Nearest-rank percentile (p in 0..100) of ascending `sorted`; NaN when empty. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (p <= 0) return sorted[0]!;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1]!;
}

export function summarize(samples: readonly number[]): LatencySummary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((acc, v) => acc + v, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1]! : Number.NaN,
    mean: sorted.length ? sum / sorted.length : Number.NaN,
  };
}

/** a / b, or null when either is not a positive finite number (no misleading Infinity/NaN in the JSON). */
export function ratio(a: number, b: number): number | null {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0 || a < 0) return null;
  return a / b;
}

/** a - b, or null when either is not finite. */
export function difference(a: number, b: number): number | null {
  return Number.isFinite(a) && Number.isFinite(b) ? a - b : null;
}

/** Median of the values (mean of the middle two for even counts); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median, lowest and highest of the values (NaN for each when empty): a figure and its spread over rounds. */
export function spread(values: readonly number[]): { median: number; min: number; max: number } {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** Rounds to `digits` decimals; keeps null/NaN as null so JSON stays valid and honest. */
export function round(value: number | null | undefined, digits = 2): number | null {
  if (value === null || value === undefined || !Number.isFinite(value)) return null;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/**
 * Order of the variants in round `index`: alternates forwards and backwards
 * (A,B / B,A / A,B ...) so neither side always runs first, after the other warmed
 * caches or while the machine drifts.
 */
export function roundOrder<T>(variants: readonly T[], index: number): T[] {
  return index % 2 === 0 ? [...variants] : [...variants].reverse();
}
