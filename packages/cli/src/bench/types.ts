/** What one benchmark reports: a table for people and a JSON payload for files and comparisons. */
export interface BenchResult {
  /** Short name, also the JSON file's name: `<out>/<name>.json`. */
  name: string;
  columns: string[];
  /** One row per measurement, aligned with `columns`. */
  rows: (string | number)[][];
  /** How it was measured, caveats, and anything odd that was seen. */
  notes: string[];
  /** Machine-readable results (the raw numbers behind `rows`). */
  json: unknown;
  /** Description of the WebGPU adapter the benchmark ran on, when it used one. */
  adapter?: string;
}

/** Options every registered benchmark gets from `gossamer bench`. */
export interface BenchOptions {
  adapter?: string;
  /** Smaller sizes and fewer repetitions: a smoke test rather than a measurement. */
  quick: boolean;
}

/** An entry of the `gossamer bench` registry. */
export interface Benchmark {
  name: string;
  summary: string;
  run(options: BenchOptions): Promise<BenchResult>;
}
