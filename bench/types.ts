/**
 * One figure of `npm run bench`: a measurement, its baseline taken in the same run, and the target
 * (SPEC §8). Absolute times drift ±30% between runs on a 2-core machine, so targets are ratios
 * wherever a baseline exists.
 */
export type BenchResult = {
  /** Stable id, e.g. `events.throughput`. */
  name: string;
  /** What was measured, in `unit`. */
  value: number;
  /** The same measurement of the baseline (null where the target is absolute). */
  baseline: number | null;
  /** value / baseline (or baseline / value for "lower is better" figures), null without a baseline. */
  ratio: number | null;
  unit: string;
  /** Human-readable target, e.g. `ratio ≥ 0.8` or `≤ 50 ms`. */
  target: string;
  pass: boolean;
  notes?: string;
};

export type BenchOptions = {
  /** `--quick`: a smoke run, the whole of `npm run bench` within 2 minutes. */
  quick: boolean;
  /** Postgres server URL; each bench creates its own database on it. */
  databaseUrl: string;
  /** `--rounds=N`, `--seconds=S`: the load benches' rounds and their length, instead of the defaults. */
  rounds?: number;
  seconds?: number;
};

/** A bench module: bench/run.ts runs every module listed in bench/index.ts. */
export type BenchModule = {
  title: string;
  run(options: BenchOptions): Promise<BenchResult[]>;
};
