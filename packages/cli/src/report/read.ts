// Reading a run directory: config.json and metrics.jsonl (one JSON event a line, as `gossamer train`
// and the workers write them). Tolerant where runs really go wrong (a run killed mid-write leaves a
// truncated last line; newer workers emit event types this code has never heard of), strict and
// explicit otherwise.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** One metrics event: a `type` and whatever fields that type carries (numbers are what gets plotted). */
export type MetricEvent = Readonly<Record<string, unknown>> & { readonly type: string };

export interface ParsedMetrics {
  events: MetricEvent[];
  /** What was skipped and why, for the user (e.g. a truncated last line). */
  warnings: string[];
}

export interface RunData extends ParsedMetrics {
  runDir: string;
  /** config.json as written by `gossamer train`; undefined when it is missing or unreadable (see warnings). */
  config: Readonly<Record<string, unknown>> | undefined;
}

/** The run directory is missing, empty or not a run directory; the message says how to fix it. */
export class RunDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunDirError';
  }
}

export const METRICS_FILE = 'metrics.jsonl';
export const CONFIG_FILE = 'config.json';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Parses metrics JSON lines. Blank lines are ignored; the last non-blank line may be truncated (a run
 * interrupted while appending) and is then skipped with a warning; any other line that is not JSON
 * is an error naming its line number. Lines that are JSON but not an event object with a string
 * `type` are skipped with a warning. Event types are not checked: unknown ones pass through.
 */
export function parseMetricsLines(text: string, source = METRICS_FILE): ParsedMetrics {
  const lines = text.split('\n');
  let last = lines.length - 1;
  while (last >= 0 && lines[last].trim() === '') last--;
  const events: MetricEvent[] = [];
  const warnings: string[] = [];
  let notEvents = 0;
  for (let i = 0; i <= last; i++) {
    const line = lines[i].trim();
    if (line === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      if (i === last) {
        warnings.push(`${source}:${i + 1}: skipped the truncated last line (the run was probably interrupted while writing it)`);
        continue;
      }
      throw new RunDirError(`${source}:${i + 1}: not a JSON line (${(e as Error).message}); metrics files hold one JSON event per line`);
    }
    if (isRecord(value) && typeof value.type === 'string') events.push(value as MetricEvent);
    else notEvents++;
  }
  if (notEvents > 0) warnings.push(`${source}: skipped ${notEvents} line(s) that are not event objects with a "type"`);
  return { events, warnings };
}

/**
 * Reads a run directory. Throws RunDirError when it does not exist, is empty, has no metrics.jsonl
 * or no events in it; a missing or unreadable config.json is only a warning (plots need only metrics).
 */
export function readRunDir(runDir: string): RunData {
  if (!existsSync(runDir)) {
    throw new RunDirError(
      `run directory ${runDir} does not exist. Pass the directory a run wrote: \`gossamer train --out <dir>\` (default runs/<time>-<algo>-<model>).`,
    );
  }
  if (!statSync(runDir).isDirectory()) throw new RunDirError(`${runDir} is a file, not a run directory: pass the directory that holds ${METRICS_FILE}.`);
  const metricsPath = join(runDir, METRICS_FILE);
  if (!existsSync(metricsPath)) {
    if (readdirSync(runDir).length === 0) {
      throw new RunDirError(`run directory ${runDir} is empty: train into it first, e.g. \`gossamer train --out ${runDir}\`, then run the report.`);
    }
    throw new RunDirError(
      `${runDir} has no ${METRICS_FILE}, so it is not a run directory. Pass the directory \`gossamer train --out <dir>\` wrote (it holds ${CONFIG_FILE} and ${METRICS_FILE}).`,
    );
  }
  const parsed = parseMetricsLines(readFileSync(metricsPath, 'utf8'), metricsPath);
  if (parsed.events.length === 0) {
    const configPath = join(runDir, CONFIG_FILE);
    const rerun = existsSync(configPath) ? `\`gossamer train --config ${configPath} --out ${runDir}\`` : `\`gossamer train --out ${runDir}\``;
    throw new RunDirError(`${metricsPath} holds no events: the run stopped before its first one. Run it again: ${rerun}.`);
  }
  const warnings = [...parsed.warnings];
  let config: Record<string, unknown> | undefined;
  const configPath = join(runDir, CONFIG_FILE);
  if (!existsSync(configPath)) {
    warnings.push(`${configPath} is missing: the report has no configuration table`);
  } else {
    try {
      const value: unknown = JSON.parse(readFileSync(configPath, 'utf8'));
      if (isRecord(value)) config = value;
      else warnings.push(`${configPath} is not a JSON object: the report has no configuration table`);
    } catch (e) {
      warnings.push(`${configPath} is not valid JSON (${(e as Error).message}): the report has no configuration table`);
    }
  }
  return { runDir, config, events: parsed.events, warnings };
}
